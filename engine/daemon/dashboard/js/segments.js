// SMS segment counting for the reply box, the same rules as the engine's
// engine/model/src/segments.rs (GSM-7 with its extension table, else UCS-2; a character is
// never split across parts). tests/browser checks both against one fixture.

const GSM7_BASIC = new Set(
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
  "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà",
);
const GSM7_EXTENSION = new Set("\f^{}\\[~]|€");

const LIMITS = {
  gsm7: { single: 160, perPart: 153 },
  ucs2: { single: 70, perPart: 67 },
};

function pack(costs, single, perPart) {
  const total = costs.reduce((sum, cost) => sum + cost, 0);
  if (total <= single) return { units: total, segments: 1 };
  let parts = 1;
  let used = 0;
  for (const cost of costs) {
    if (used + cost > perPart) {
      parts += 1;
      used = 0;
    }
    used += cost;
  }
  return { units: total, segments: parts };
}

/** Encoding, units, segments and characters of `text`, like `segment_info` in Rust. */
export function segmentInfo(text) {
  const chars = Array.from(text);
  const gsm = chars.every((c) => GSM7_BASIC.has(c) || GSM7_EXTENSION.has(c));
  if (gsm) {
    const costs = chars.map((c) => (GSM7_EXTENSION.has(c) ? 2 : 1));
    const { units, segments } = pack(costs, LIMITS.gsm7.single, LIMITS.gsm7.perPart);
    return { encoding: "gsm7", units, segments, chars: chars.length, non_gsm_chars: [] };
  }
  const costs = chars.map((c) => c.length); // UTF-16 code units
  const { units, segments } = pack(costs, LIMITS.ucs2.single, LIMITS.ucs2.perPart);
  const offenders = [];
  for (const c of chars) {
    if (!GSM7_BASIC.has(c) && !GSM7_EXTENSION.has(c) && !offenders.includes(c)) offenders.push(c);
    if (offenders.length === 5) break;
  }
  return { encoding: "ucs2", units, segments, chars: chars.length, non_gsm_chars: offenders };
}
