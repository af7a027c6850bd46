/**
 * Typed errors of the store. Each carries the message users see (matching the reference's
 * wording where the reference has one, store.md §5–§7 and cli.md §3) and an `exitCode`
 * the CLI maps it to (cli.md §1.3: 1 = user error, 2 = internal/corrupt data).
 */

/** Base class of every error the store throws on purpose. */
export class TrackerError extends Error {
  /** CLI exit code for this error (1 user error, 2 internal). */
  readonly exitCode: number = 1;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** No item matches a prefix / alias target (store.md §4.3). */
export class ItemNotFoundError extends TrackerError {}

/** A prefix matches several items (store.md §4.3). `candidates` are full IDs. */
export class AmbiguousPrefixError extends TrackerError {
  constructor(
    message: string,
    readonly prefix: string,
    readonly candidates: { id: string; title: string; tier?: string }[],
  ) {
    super(message);
  }
}

/** Creating an item whose content-hash ID already exists (store.md §4.2). */
export class ItemExistsError extends TrackerError {
  constructor(
    message: string,
    readonly id: string,
  ) {
    super(message);
  }
}

/** A write that needs a human was attempted by an agent (store.md §6.2). */
export class HumanAuthorityError extends TrackerError {}

/** An agent write touches a human-locked field (store.md §6.3). */
export class LockedFieldError extends TrackerError {}

/** An agent write to a frozen item (store.md §6.4). */
export class FrozenItemError extends TrackerError {}

/** A tier move from the wrong source tier (store.md §2.4.2). */
export class TierMovementError extends TrackerError {}

/** A message op outside an open edit-mode window (store.md §2.4.4). */
export class EditModeNotActiveError extends TrackerError {}

/** Invalid value on write: unknown kind, bad status, bad tag, field key gate… (store.md §5.3). */
export class ValidationError extends TrackerError {}

/** Invalid `:N` positional alias (store.md §4.4). */
export class AliasError extends TrackerError {}

/** Config file invalid (store.md §5.1). Exit 2 like the reference's init failure. */
export class ConfigValidationError extends TrackerError {
  override readonly exitCode: number = 2;
  /**
   * @param file the config file at fault, when there is one (the message starts with it);
   *   absent for a protected-config refusal and the built-in defaults
   */
  constructor(
    message: string,
    readonly file?: string,
  ) {
    super(message);
  }
}

/** Protected config refusal (store.md §5.1). */
export class ProtectedConfigError extends ConfigValidationError {}

/**
 * An op file cannot be read or compiled (store.md §2.7, §6.5). The reference maps it to
 * exit 2 with `error: corrupt data: <message>`.
 */
export class CorruptFileError extends TrackerError {
  override readonly exitCode: number = 2;
  constructor(
    message: string,
    readonly file?: string,
    readonly line?: number,
  ) {
    super(message);
  }
}

/** Agent discussion budget exhausted (store.md §6.7). Exit 2 as the reference. */
export class DiscussionRateLimitError extends TrackerError {
  override readonly exitCode: number = 2;
}

/** The op file lock could not be taken within the timeout (another writer holds it). */
export class LockTimeoutError extends TrackerError {
  override readonly exitCode: number = 2;
}

/** A filesystem failure during a write (disk full, permission denied), naming the file. */
export class WriteFailedError extends TrackerError {
  override readonly exitCode: number = 2;
  constructor(
    message: string,
    readonly file: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** A path argument that would leave the tracker (traversal, NUL, absolute ID). */
export class UnsafePathError extends TrackerError {}
