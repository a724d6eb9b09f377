/**
 * Public types of the EPN → EPI parser (spec §6.4, R-EPI-1..3; wire forms in
 * docs/spec/epn-formats.md).
 */

/** Which wire form an Endpoint Name was recognised as. */
export type EpnForm =
  /** China Mobile DM v2.x: `T@#@B64@#@AppKey[@#@ID1@#@DMv]`. */
  | 'A'
  /** Plain inner string `ID1-ID2-IMSI[-DMv]`. */
  | 'B'
  /** OneNET style `IMEI;IMSI`. */
  | 'C'
  /** DM v4.x `brand||model||appkey||sdkVer||apiVer||T||templateId||imei1||imei2||...`. */
  | 'D'
  /** `urn:imei:<15 digits>`. */
  | 'URN_IMEI'
  /** A bare 15-digit IMEI. */
  | 'IMEI';

/** Names of the fields the parser can report. */
export type EpnFieldName =
  | 'cmei'
  | 'imei'
  | 'imei2'
  | 'imsi'
  | 'version'
  | 'appKey'
  | 'terminalType'
  | 'brand'
  | 'model'
  | 'sdkVersion'
  | 'apiVersion'
  | 'templateId';

/** A field that was found and passed its checks. */
export interface EpnField {
  name: EpnFieldName;
  value: string;
  /** Where it came from, e.g. `inner.ID1`, `clear.DMv`, `imei1`, `IMSI`. */
  slot: string;
}

/** Why a field (or an encrypted part) was not used. */
export type DropReason =
  /** Wrong length for any identifier kind accepted in that slot. */
  | 'BAD_LENGTH'
  /** Characters outside the allowed set. */
  | 'BAD_CHARSET'
  /** 15 digits in an IMEI-only position (or not `11`-prefixed) with a wrong Luhn digit. */
  | 'BAD_LUHN'
  /** Not a valid version string. */
  | 'BAD_VERSION'
  /** Terminal type not one upper-case letter. */
  | 'BAD_TERMINAL_TYPE'
  /** Application key not `[A-Za-z0-9]{1,64}`. */
  | 'BAD_APPKEY'
  /** IMSI not 6–15 digits. */
  | 'BAD_IMSI'
  /** Free-text field (brand, model, ...) too long or with forbidden characters. */
  | 'BAD_TEXT'
  /** A second identifier of a kind already taken (e.g. two CMEIs). */
  | 'DUPLICATE'
  /** A clear-text field disagreeing with the decrypted one (the decrypted one wins). */
  | 'CONFLICT'
  /** Form A 5-part: no password for the AppKey, the encrypted part was not read. */
  | 'UNKNOWN_APPKEY'
  /** Form A 5-part: the encrypted part did not decrypt (wrong password, corrupt). */
  | 'DECRYPT_FAILED'
  /** Form A 5-part: the decrypted text is not an `ID1-ID2-IMSI[-DMv]` string. */
  | 'BAD_INNER_FORMAT'
  /** A value in a reserved position (Form D fields after imei2); ignored. */
  | 'RESERVED';

/** A field that was present (not `****`/`***`/empty) but not used. */
export interface DroppedField {
  slot: string;
  /** The offending value, truncated to 64 characters. */
  value: string;
  reason: DropReason;
}

/** Why no EPI could be derived (R-EPI-3). */
export type EpnRejectReason =
  /** Empty EPN. */
  | 'EMPTY'
  /** Longer than the cap (1024 characters by default). */
  | 'TOO_LONG'
  /** Not printable ASCII, or contains whitespace. */
  | 'BAD_CHARSET'
  /** None of the known forms, or wrong number of parts. */
  | 'BAD_FORMAT'
  /** Form recognised but no valid CMEI or IMEI in it. */
  | 'NO_VALID_ID'
  /** Form A: the encrypted part did not decrypt (3-part form, or `requireDecryption`). */
  | 'DECRYPT_FAILED'
  /** Form A: no password known for the AppKey (3-part form, or `requireDecryption`). */
  | 'UNKNOWN_APPKEY'
  /** Form A: the decrypted text is not `ID1-ID2-IMSI[-DMv]` (3-part form, or `requireDecryption`). */
  | 'BAD_INNER_FORMAT'
  /** Form A 5-part with `requireDecryption`: the clear ID1 or DMv differs from the decrypted one. */
  | 'CLEAR_MISMATCH';

/** Successful parse: an EPI was derived. */
export interface EpnIdentity {
  ok: true;
  form: EpnForm;
  /** The EPN verbatim (it stays the LwM2M endpoint name). */
  epn: string;
  /** CMEI+IMEI, else CMEI, else IMEI (R-EPI-1). */
  epi: string;
  /** `EPI;version`, or `EPI` without a version (R-REG-3). */
  location: string;
  version?: string;
  cmei?: string;
  imei?: string;
  /** A second valid IMEI (dual-SIM modules), not part of the EPI. */
  imei2?: string;
  imsi?: string;
  /** True when the IMSI's MCC is 460 (China). */
  imsiChina?: boolean;
  appKey?: string;
  terminalType?: string;
  /** Form D device-model data (R-OPS-2). */
  brand?: string;
  model?: string;
  sdkVersion?: string;
  apiVersion?: string;
  templateId?: string;
  /**
   * Form A only: `decrypted` when the encrypted part was read, `clear` when only the
   * clear 5-part fields were used.
   */
  source?: 'decrypted' | 'clear';
  /** Every field found and accepted, in EPN order. */
  fields: EpnField[];
  /** Every present field that was not used, with the reason. */
  dropped: DroppedField[];
}

/** No EPI: the UE is invalid (R-EPI-3). Never thrown; returned. */
export interface EpnRejection {
  ok: false;
  reason: EpnRejectReason;
  /** Human-readable detail for the diagnostic payload and logs. */
  detail: string;
  /** The form, when it was recognised. */
  form?: EpnForm;
  /** The EPN truncated to 128 characters (safe to log). */
  epnPreview: string;
  /** AppKey when it was readable (Form A / D). */
  appKey?: string;
  fields: EpnField[];
  dropped: DroppedField[];
}

export type EpnParseResult = EpnIdentity | EpnRejection;

/**
 * Where the parser gets the password of a Form A AppKey: a pre-resolved map / record,
 * or a synchronous function (return `undefined` when unknown).
 */
export type PasswordLookup =
  | ReadonlyMap<string, string>
  | Readonly<Record<string, string>>
  | ((appKey: string) => string | undefined);
