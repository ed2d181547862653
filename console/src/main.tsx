import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { configureApi } from './api';
import { awsSession, awsSignIn, LOCAL_NAME, localSession, localSignIn, type Session } from './auth';
import { type ConsoleConfig, loadConfig } from './config';
import { type Lang, setLang, storedLang, storeLang, t } from './i18n';
import { Approvals } from './pages/approvals';
import { BatchDetail, Batches } from './pages/batches';
import { PayoutDetail } from './pages/detail';
import { Exceptions } from './pages/exceptions';
import { Overview } from './pages/overview';
import { Payouts } from './pages/payouts';
import { SandboxPage } from './pages/sandbox';

/** Hash routes (`#/payouts/abc?x=y`): static hosting needs no rewrite rules for deep links. */
function parseHash(hash: string): { path: string[]; query: URLSearchParams } {
  const [path = '', query = ''] = hash.replace(/^#\/?/, '').split('?');
  return { path: path.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(query) };
}

function useHash(): string {
  const [hash, setHash] = useState(window.location.hash);
  useEffect(() => {
    const on = () => setHash(window.location.hash);
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return hash;
}

const go = (hash: string) => {
  window.location.hash = hash;
};

function Page({ config, hash }: { config: ConsoleConfig; hash: string }) {
  const { path, query } = parseHash(hash);
  const [first, second] = path;
  if (first === 'payouts' && second) return <PayoutDetail noOrder={second} config={config} />;
  if (first === 'payouts') return <Payouts key={hash} query={query} />;
  if (first === 'approvals') return <Approvals config={config} />;
  if (first === 'batches' && second) return <BatchDetail batchId={second} config={config} />;
  if (first === 'batches') return <Batches go={go} />;
  if (first === 'exceptions') return <Exceptions />;
  if (first === 'sandbox' && config.mode === 'local') return <SandboxPage />;
  return <Overview />;
}

function SignIn({ config, onSession }: { config: ConsoleConfig; onSession: (s: Session) => void }) {
  const [name, setName] = useState('');
  if (config.mode === 'aws') {
    return (
      <main id="main" class="signin">
        <h1>{t.loginTitle}</h1>
        <button type="button" class="primary" onClick={() => void awsSignIn(config)}>
          {t.loginAws}
        </button>
      </main>
    );
  }
  const pick = (n: string) => {
    const s = localSignIn(n);
    if (s) onSession(s);
  };
  return (
    <main id="main" class="signin">
      <h1>{t.loginTitle}</h1>
      <p>{t.principalHint}</p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          pick(name);
        }}
      >
        <label>
          {t.principal}
          <input
            id="principal"
            value={name}
            required
            pattern="[A-Za-z0-9_.@\-]{1,64}"
            autocomplete="username"
            onInput={(e) => setName(e.currentTarget.value)}
          />
        </label>
        <button type="submit" class="primary" disabled={!LOCAL_NAME.test(name)}>
          {t.signIn}
        </button>
      </form>
      <p class="buttons">
        {['alice', 'bob', 'carol'].map((n) => (
          <button key={n} type="button" onClick={() => pick(n)}>
            {n}
          </button>
        ))}
      </p>
    </main>
  );
}

const LINKS: readonly [string, keyof typeof t][] = [
  ['#/', 'overview'],
  ['#/payouts', 'payouts'],
  ['#/approvals', 'approvals'],
  ['#/batches', 'batches'],
  ['#/exceptions', 'exceptions'],
];

function App({ config, initial }: { config: ConsoleConfig; initial: Session | undefined }) {
  const [session, setSession] = useState(initial);
  const [lang, setLangState] = useState<Lang>(storedLang());
  const hash = useHash();
  if (session) configureApi(config, session.authenticate);
  const switchLang = () => {
    const next = lang === 'zh' ? 'en' : 'zh';
    setLang(next);
    setLangState(next);
  };
  const links = config.mode === 'local' ? [...LINKS, ['#/sandbox', 'sandbox'] as const] : LINKS;
  const current = `#/${parseHash(hash).path[0] ?? ''}`;
  return (
    <div key={lang}>
      {/* A button, not a link: with hash routes, "#main" would navigate. */}
      <button type="button" class="skip" onClick={() => document.getElementById('main')?.focus()}>
        {t.skip}
      </button>
      <header>
        <span class="brand">{t.title}</span>
        {session ? (
          <nav aria-label={t.nav}>
            <ul>
              {links.map(([href, key]) => (
                <li key={href}>
                  <a href={href} aria-current={current === href ? 'page' : undefined}>
                    {t[key] as string}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
        ) : null}
        <div class="who">
          <button
            type="button"
            onClick={switchLang}
            aria-label={t.languageLabel}
            lang={lang === 'zh' ? 'en' : 'zh-CN'}
          >
            {t.language}
          </button>
          {session ? (
            <>
              <span id="signed-in">
                {t.signedInAs}: <strong>{session.name}</strong>
              </span>
              <button
                type="button"
                onClick={() => {
                  session.signOut();
                  setSession(undefined);
                }}
              >
                {t.signOut}
              </button>
            </>
          ) : null}
        </div>
      </header>
      {session ? (
        <main id="main" tabIndex={-1}>
          <Page config={config} hash={hash} />
        </main>
      ) : (
        <SignIn config={config} onSession={setSession} />
      )}
    </div>
  );
}

async function start(): Promise<void> {
  storeLang(storedLang());
  const root = document.getElementById('app');
  if (!root) return;
  try {
    const config = await loadConfig();
    const session = config.mode === 'aws' ? await awsSession(config) : localSession();
    render(<App config={config} initial={session} />, root);
  } catch (error) {
    root.textContent = `${t.error}: ${error instanceof Error ? error.message : String(error)}`;
  }
}

void start();
