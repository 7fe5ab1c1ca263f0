// The limits the contract (openapi.yaml) states, which the forms repeat as
// maxlength and hints: build.mjs reads them from the contract and esbuild
// puts them in place of LIMITS, so that they are stated once, there.

/** Limits holds each limit under the name build.mjs looks it up by. */
export interface Limits {
  /** Handle: minLength and maxLength. */
  readonly handleMin: number;
  readonly handleMax: number;
  /** A message's subject and body (SendMessageRequest, ReplyRequest): maxLength. */
  readonly subjectMax: number;
  readonly bodyMax: number;
  /** How many tags and attachments a message carries: maxItems. */
  readonly tagsMax: number;
  readonly attachmentsMax: number;
  /** A contact's or agent's display_name and description: maxLength. */
  readonly displayNameMax: number;
  readonly descriptionMax: number;
  /** A thread's metadata key and value (MetadataUpdate): maxLength. */
  readonly metadataKeyMax: number;
  readonly metadataValueMax: number;
  /** The query of GET /messages/search: maxLength. */
  readonly searchQueryMax: number;
  /** The most a page holds (the limit parameter's maximum). */
  readonly pageMax: number;
}

declare const LIMITS: Limits;

export const limits: Limits = LIMITS;
