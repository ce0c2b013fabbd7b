/**
 * A copy of `value` that does not keep the text it was cut from alive. V8 represents a slice of 13 or more
 * characters as a view into its parent string, so a 30-character value cut from a 120 KB window holds the whole
 * window for as long as the value lives. Use it for anything cut from content that outlives that content:
 * cache keys, findings.
 */
export function unsliced(value: string): string {
  // The concatenation is flattened into a new string before the slice; the slice's parent is then that copy.
  return value.length < 13 ? value : (' ' + value).slice(1);
}
