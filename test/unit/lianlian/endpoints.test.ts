import { describe, expect, it } from 'vitest';
import { APPLY_PATH, BALANCE_PATH, QUERY_PATH, resolveEndpoints } from '../../../src/lianlian/endpoints';

describe('resolveEndpoints (spec §1, §12)', () => {
  it('a single base resolves to the 2014 layout, trailing slashes dropped', () => {
    expect(resolveEndpoints({ base: 'https://yintong.com.cn//' })).toEqual({
      applyUrl: `https://yintong.com.cn${APPLY_PATH}`,
      queryUrl: `https://yintong.com.cn${QUERY_PATH}`,
      balanceUrl: `https://yintong.com.cn${BALANCE_PATH}`,
    });
    expect(APPLY_PATH).toBe('/traderapi/cardandpay.htm');
    expect(QUERY_PATH).toBe('/traderapi/orderquery.htm');
  });

  it('the later hosts: each URL on its own, no /traderapi/ prefix, no base needed', () => {
    const later = {
      applyUrl: 'https://traderapi.lianlianpay.com/cardandpay.htm',
      queryUrl: 'https://queryapi.lianlianpay.com/orderquery.htm',
      balanceUrl: 'https://traderapi.lianlianpay.com/traderAcctQuery.htm',
    };
    expect(resolveEndpoints(later)).toEqual(later);
  });

  it('an explicit URL wins over the base, call by call', () => {
    const resolved = resolveEndpoints({
      base: 'http://127.0.0.1:8080',
      queryUrl: 'https://queryapi.lianlianpay.com/orderquery.htm',
    });
    expect(resolved).toEqual({
      applyUrl: `http://127.0.0.1:8080${APPLY_PATH}`,
      queryUrl: 'https://queryapi.lianlianpay.com/orderquery.htm',
      balanceUrl: `http://127.0.0.1:8080${BALANCE_PATH}`,
    });
  });

  it('leaves the balance URL out when neither it nor a base is set', () => {
    const resolved = resolveEndpoints({
      applyUrl: 'https://traderapi.lianlianpay.com/cardandpay.htm',
      queryUrl: 'https://queryapi.lianlianpay.com/orderquery.htm',
    });
    expect(resolved).not.toHaveProperty('balanceUrl');
  });

  it('names the call that has no URL', () => {
    expect(() => resolveEndpoints({})).toThrow(/apply/);
    expect(() => resolveEndpoints({ applyUrl: 'https://a.example/cardandpay.htm' })).toThrow(/query/);
    expect(() => resolveEndpoints({ base: '  ' })).toThrow(/apply/);
  });

  it.each([
    [{ base: 'yintong.com.cn' }, /base/],
    [{ base: 'ftp://yintong.com.cn' }, /base/],
    [{ base: 'https://x.example', applyUrl: '/cardandpay.htm' }, /apply URL/],
    [{ base: 'https://x.example', queryUrl: 'javascript:alert(1)' }, /query URL/],
    [{ base: 'https://x.example', balanceUrl: 'not a url' }, /balance URL/],
  ])('refuses a URL that is not absolute http(s): %j', (settings, message) => {
    expect(() => resolveEndpoints(settings)).toThrow(message);
  });

  it('never echoes the configured value in its error', () => {
    expect(() => resolveEndpoints({ base: 'secret-host-name' })).toThrow(/^(?!.*secret-host-name)/);
  });
});
