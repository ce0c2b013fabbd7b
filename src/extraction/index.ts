/**
 * Content extraction (the guide's ContentExtractor / `extract_from_file`): a file or byte stream in, an async
 * sequence of ContentComponents out.
 *
 * - `kind:'text'`: consecutive, non-overlapping chunks of a component's decoded text (`textChunkChars`, default
 *   64 Ki chars) with `offset` (char offset in the component's text) and `line` (1-based line of the first char).
 *   Plain text, XML/HTML (text only), JSON/NDJSON (`key.path: value` lines), PDF text layer, DOCX/ODT, PPTX
 *   slides, EML headers and bodies.
 * - `kind:'table'`: CSV/TSV, XLSX and ODS sheets; `columns` = first row, `rows` in batches (`tableBatchRows`,
 *   default 1000) with `rowOffset`. Cells are strings (XLSX numbers keep their stored spelling) or null.
 * - `kind:'error'`: a component refused or unreadable, `error.type` is CONTENT_TOO_LARGE, CONTENT_CORRUPT or
 *   CONTENT_UNSUPPORTED. Never thrown; the next component follows.
 *
 * componentPath: the object's path for the object itself; `archive!/member` inside zip, tar and mail
 * (`backup.zip!/2024/customers.csv`, `mail.eml!/invoice.pdf`), nested as deep as the archives go
 * (`site.tar.gz!/inner.zip!/a.txt`; the gzip layer adds no segment); sheets and slides as `book.xlsx!/Sheet1`,
 * `deck.pptx!/slide2`.
 */
export { ContentExtractor, type ExtractOptions } from './extractor';
export {
  DEFAULT_EXTRACTION_LIMITS,
  resolveLimits,
  type ExtractionLimits,
  type ResolvedExtractionLimits,
} from './limits';
export { detectFormat, type Detection, type Format } from './sniff';
