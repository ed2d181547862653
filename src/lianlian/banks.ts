/** Spec §9: 8-digit bank codes. The last three come from a single source and are marked so. */
export interface BankInfo {
  readonly abbr: string;
  readonly name: string;
  readonly singleSource?: true;
}

export const BANK_CODES: Readonly<Record<string, BankInfo>> = {
  '01020000': { abbr: 'ICBC', name: '工商银行' },
  '01030000': { abbr: 'ABC', name: '农业银行' },
  '01040000': { abbr: 'BOC', name: '中国银行' },
  '01050000': { abbr: 'CCB', name: '建设银行' },
  '01000000': { abbr: 'PSBC', name: '邮储银行' },
  '03010000': { abbr: 'BOCOM', name: '交通银行' },
  '03020000': { abbr: 'CITIC', name: '中信银行' },
  '03030000': { abbr: 'CEB', name: '光大银行' },
  '03040000': { abbr: 'HXB', name: '华夏银行' },
  '03050000': { abbr: 'CMBC', name: '民生银行' },
  '03060000': { abbr: 'CGB', name: '广发银行' },
  '03070000': { abbr: 'PAB', name: '平安银行' },
  '03080000': { abbr: 'CMB', name: '招商银行' },
  '03090000': { abbr: 'CIB', name: '兴业银行' },
  '03100000': { abbr: 'SPDB', name: '浦发银行' },
  '03170000': { abbr: 'CBHB', name: '渤海银行' },
  '03200000': { abbr: 'BEA', name: '东亚银行' },
  '04012900': { abbr: 'BOS', name: '上海银行' },
  '04031000': { abbr: 'BOB', name: '北京银行' },
  '04083320': { abbr: 'NBCB', name: '宁波银行', singleSource: true },
  '04243010': { abbr: 'NJCB', name: '南京银行', singleSource: true },
  '64296510': { abbr: 'BOCD', name: '成都银行', singleSource: true },
};

/**
 * The format is what we enforce (8 digits, spec §2); the table is informative. An unlisted code is not
 * refused because the provider's list is longer than the one we could rebuild.
 */
export function lookupBank(code: string): BankInfo | undefined {
  // Own properties only: "toString" is not a bank.
  return Object.hasOwn(BANK_CODES, code) ? BANK_CODES[code] : undefined;
}
