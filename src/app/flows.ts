/**
 * Write flows of the TUI (tui.md §4, closing §10.2): every governance action as a dialog or
 * key, every write through the same Tracker methods the CLI uses. Dialog input is kept when
 * a write fails (typed error shown in the dialog and as a toast); saving an edit writes only
 * the fields the human changed, diffed against the item as it was when the dialog opened.
 */
import {
  AliasError,
  AmbiguousPrefixError,
  type Item,
  ItemNotFoundError,
  type KindConfig,
  LOCKABLE_FIELDS,
  statusesForKind,
  TAG_RE,
  type Tier,
  type Tracker,
  TrackerError,
  type UpdateInput,
  type YamlValue,
} from "../index.js";
import type { Dialog, DialogField } from "../views/types.js";
import { type Keymap, resolveKey } from "./keymap.js";
import type { AppState } from "./state.js";

/** What flows need from the controller. */
export interface FlowHost {
  state: AppState;
  readonly tracker: Tracker;
  readonly deps: { editor?: (text: string) => Promise<string | null>; now: () => number; keymap: Keymap };
  set(s: AppState): void;
  toast(message: string, level?: "info" | "warn" | "error"): void;
  openDialog(d: Dialog): void;
  closeDialog(): void;
  reload(): void;
  focusItem(id: string): void;
  /** Select an item, showing it when the view, search or filters hide it; recorded in history. */
  goTo(id: string): boolean;
  focusedMessage(): { item: Item; nonce: string; index: number } | null;
  disabledReason(action: string): string | undefined;
}

type Submit = (host: FlowHost, d: Dialog, button: string) => Promise<void>;
const SUBMITS = new Map<string, Submit>();

function field(
  name: string,
  label: string,
  kind: DialogField["kind"],
  value = "",
  extra: Partial<DialogField> = {},
): DialogField {
  return {
    name,
    label,
    kind,
    value,
    caret: Array.from(value).length === value.length ? value.length : value.length,
    ...extra,
  };
}

function val(d: Dialog, name: string): string {
  return d.fields.find((f) => f.name === name)?.value ?? "";
}

function setError(host: FlowHost, d: Dialog, message: string, fieldName?: string): void {
  const fields = d.fields.map((f) => ({ ...f, error: f.name === fieldName ? message : undefined }));
  const focus = fieldName
    ? Math.max(
        0,
        fields.findIndex((f) => f.name === fieldName),
      )
    : d.focus;
  host.openDialog({ ...d, fields, focus, error: fieldName ? undefined : message });
}

function selected(host: FlowHost): Item | null {
  const id = host.state.selectedId;
  return id ? (host.state.byId.get(id) ?? null) : null;
}

/** Run a store write; on error keep the dialog open with the message and toast it. */
async function write(
  host: FlowHost,
  d: Dialog | null,
  fn: () => Promise<string | undefined>,
): Promise<boolean> {
  try {
    const msg = await fn();
    host.closeDialog();
    host.reload();
    if (msg) host.toast(msg);
    host.set(host.state);
    return true;
  } catch (e) {
    const message = e instanceof TrackerError ? e.message : `Error: ${(e as Error).message}`;
    host.toast(message, "error");
    if (d) setError(host, d, message);
    return false;
  }
}

function kindOf(t: Tracker, it: Item): KindConfig | undefined {
  return t.config.kinds.find((k) => k.name === it.kind);
}

/** Open the flow of a write action. */
export async function openFlow(host: FlowHost, action: string): Promise<void> {
  const t = host.tracker;
  const it = selected(host);
  const needItem = !["new", "edit-mode"].includes(action);
  if (needItem && !it) {
    host.toast("No item selected", "warn");
    return;
  }
  switch (action) {
    case "discuss":
      host.openDialog({
        id: "discuss",
        kind: "form",
        title: `Discuss: ${it!.title}`,
        lines: ["Enter adds a new line; Ctrl+S sends; Ctrl+O opens $EDITOR."],
        fields: [
          field("message", "Message", "multiline", "", { placeholder: "Type your message…", required: true }),
        ],
        focus: 0,
        buttons: [
          { id: "send", label: "Send" },
          { id: "cancel", label: "Cancel" },
        ],
        itemId: it!.id,
      });
      return;
    case "clear-discussion":
      confirm(host, "clear", `Clear discussion for '${it!.title}'?`, it!.id, [
        "This removes every message from the thread (an op is appended; nothing is rewritten).",
      ]);
      return;
    case "delete-item": {
      const inbound = host.state.blockers.get(it!.id)?.length ?? 0;
      confirm(host, "delete", `Delete '${it!.title}'?`, it!.id, [
        `Sets status 'deleted'${it!.isbefore.length ? ", clears its isbefore links" : ""}${inbound ? ` and removes it from ${inbound} other item(s)' isbefore` : ""}.`,
      ]);
      return;
    }
    case "edit":
      host.openDialog(editDialog(t, it!));
      return;
    case "new":
      host.openDialog(newDialog(t, host.state));
      return;
    case "parent":
      host.openDialog({
        id: "parent",
        kind: "form",
        title: "Set Parent",
        lines: [`Current: ${it!.parent ?? "(none)"}`],
        fields: [field("parent", "Parent ID (prefix ok; empty clears)", "text", it!.parent ?? "")],
        focus: 0,
        buttons: [
          { id: "set", label: "Set" },
          { id: "cancel", label: "Cancel" },
        ],
        itemId: it!.id,
        data: { snapshot: it },
      });
      return;
    case "duplicate":
      host.openDialog(duplicateDialog(host.state, it!));
      return;
    case "isbefore":
      host.openDialog({
        id: "isbefore",
        kind: "form",
        title: "Edit Isbefore Links",
        lines: [
          `${it!.id} must be finished before:`,
          it!.isbefore.length ? `Current: ${it!.isbefore.join(", ")}` : "Current: (none)",
        ],
        fields: [
          field("add", "Add IDs (comma-separated, prefixes ok)", "text"),
          field("remove", "Remove IDs (comma-separated)", "text"),
        ],
        focus: 0,
        buttons: [
          { id: "apply", label: "Apply" },
          { id: "cancel", label: "Cancel" },
        ],
        itemId: it!.id,
      });
      return;
    case "move-tier": {
      const moves: Record<Tier, { value: string; label: string }[]> = {
        canonical: [{ value: "demote", label: "Demote to workspace" }],
        workspace: [
          { value: "promote", label: "Promote to canonical" },
          { value: "stealth", label: "Stealth (local only, human only)" },
        ],
        stealth: [{ value: "unstealth", label: "Unstealth to workspace (human only)" }],
      };
      const opts = it!.tier ? moves[it!.tier] : [];
      if (opts.length === 0) {
        host.toast("No moves available for this tier", "warn");
        return;
      }
      host.openDialog({
        id: "move",
        kind: "form",
        title: `Move from: ${it!.tier}`,
        fields: [field("move", "Move", "select", opts[0].value, { options: opts })],
        focus: 0,
        buttons: [
          { id: "move", label: "Move" },
          { id: "cancel", label: "Cancel" },
        ],
        itemId: it!.id,
      });
      return;
    }
    case "lock":
      host.openDialog(lockDialog(t, it!));
      return;
    case "freeze":
      await write(host, null, async () => {
        if (it!.frozen) {
          await t.unfreeze(it!.id);
          return `Unfrozen: ${it!.id}`;
        }
        await t.freeze(it!.id);
        return `Frozen: ${it!.id}`;
      });
      return;
    case "repair-drift":
      if (!it!.frozen) {
        host.toast("Item is not frozen", "warn");
        return;
      }
      if (!t.driftCheck(it!.id)) {
        host.toast("No drift detected");
        return;
      }
      confirm(host, "repair", `Revert '${it!.title}' to frozen state?`, it!.id, [
        "The op file is restored from its frozen copy (a documented rewrite).",
      ]);
      return;
    case "reconcile": {
      const tiers = t.tiersOf(it!.id);
      if (tiers.length < 2) {
        host.toast(`No cross-tier conflict: ${it!.id} is only in ${tiers[0] ?? "no tier"}`, "warn");
        return;
      }
      confirm(host, "reconcile", `Merge the copies of '${it!.title}' into canonical?`, it!.id, [
        `Copies in ${tiers.join(", ")}: every op of each, once, goes into the canonical file with a reconcile op; the other copies are removed.`,
      ]);
      return;
    }
    case "edit-mode":
      await write(host, null, async () => {
        if (host.state.editMode?.on) {
          await t.editModeOff();
          return "Edit-mode OFF";
        }
        await t.editModeOn({ ttlSeconds: 1800 });
        return "Edit-mode ON (30m)";
      });
      return;
    case "msg-delete":
    case "msg-undelete":
    case "msg-edit": {
      const m = host.focusedMessage();
      if (!m) {
        host.toast("Open the thread (o) and pick a message first", "warn");
        return;
      }
      const e = m.item.discussion[m.index];
      const fields = [field("reason", "Reason (1-100 characters)", "text", "", { required: true })];
      if (action === "msg-edit")
        fields.unshift(field("text", "New text", "multiline", e.message, { required: true }));
      host.openDialog({
        id: action,
        kind: "form",
        title: `${action === "msg-delete" ? "Delete" : action === "msg-undelete" ? "Undelete" : "Edit"} message #${e.nonce}`,
        lines: [`[${e.at}] ${e.actor} (${e.by})`],
        fields,
        focus: 0,
        buttons: [
          { id: "apply", label: "Apply" },
          { id: "cancel", label: "Cancel" },
        ],
        itemId: m.item.id,
        data: { nonce: e.nonce },
      });
      return;
    }
    default:
      host.toast(`Unknown action: ${action}`, "warn");
  }
}

function confirm(host: FlowHost, what: string, title: string, itemId: string, lines: string[] = []): void {
  host.openDialog({
    id: `confirm-${what}`,
    kind: "confirm",
    title,
    lines,
    fields: [],
    focus: 1,
    buttons: [
      { id: "yes", label: "Yes" },
      { id: "no", label: "No" },
    ],
    itemId,
  });
}

SUBMITS.set("confirm-clear", async (host, d, b) => {
  if (b !== "yes") return host.closeDialog();
  await write(host, d, async () => {
    await host.tracker.discussClear(d.itemId!);
    return `Discussion cleared for ${d.itemId}`;
  });
});
SUBMITS.set("confirm-delete", async (host, d, b) => {
  if (b !== "yes") return host.closeDialog();
  await write(host, d, async () => {
    const r = await host.tracker.delete(d.itemId!);
    return `Deleted: ${d.itemId}${r.inboundCleared ? ` (cleared ${r.inboundCleared} inbound link${r.inboundCleared === 1 ? "" : "s"})` : ""}`;
  });
});
SUBMITS.set("confirm-reconcile", async (host, d, b) => {
  if (b !== "yes") return host.closeDialog();
  await write(host, d, async () => {
    const r = await host.tracker.reconcileReset(d.itemId!);
    return `Reconciled ${d.itemId} into canonical from ${r.from.join(", ")} (${r.dropped} duplicate op${r.dropped === 1 ? "" : "s"} dropped)`;
  });
});
SUBMITS.set("confirm-repair", async (host, d, b) => {
  if (b !== "yes") return host.closeDialog();
  await write(host, d, async () => {
    await host.tracker.repairDrift(d.itemId!);
    return `Drift repaired: ${d.itemId}`;
  });
});

SUBMITS.set("discuss", async (host, d) => {
  const msg = val(d, "message");
  if (msg.trim() === "") return setError(host, d, "Message is empty: type something or press Esc", "message");
  await write(host, d, async () => {
    const r = await host.tracker.discuss(d.itemId!, msg);
    for (const w of r.warnings) host.toast(w, "warn");
    return `Discussion added to ${d.itemId}`;
  });
});

// ---- edit ------------------------------------------------------------------------------

function schemaFieldsFor(kind: KindConfig | undefined, it: Item | null): DialogField[] {
  const out: DialogField[] = [];
  const present = new Set<string>();
  for (const [name, sc] of kind?.fields_schema ?? []) {
    present.add(name);
    const v = it?.fields[name];
    const help = `${sc.type}${sc.min !== undefined || sc.max !== undefined ? ` ${sc.min ?? ""}..${sc.max ?? ""}` : ""}${sc.description ? ` — ${sc.description}` : ""}`;
    if (sc.type === "boolean")
      out.push(field(`f:${name}`, name, "checkbox", v === true ? "true" : "false", { help }));
    else if (sc.type === "list")
      out.push(
        field(
          `f:${name}`,
          `${name} (one per line)`,
          "multiline",
          Array.isArray(v) ? v.map(String).join("\n") : v == null ? "" : String(v),
          { help, required: sc.required },
        ),
      );
    else
      out.push(
        field(
          `f:${name}`,
          name,
          sc.type === "text" && typeof v === "string" && v.length > 60 ? "multiline" : "text",
          v == null ? "" : Array.isArray(v) ? v.join(", ") : String(v),
          { help, required: sc.required },
        ),
      );
  }
  for (const k of Object.keys(it?.fields ?? {})) {
    if (present.has(k)) continue;
    const v = it!.fields[k];
    out.push(
      field(
        `f:${k}`,
        `${k} (custom)`,
        "text",
        Array.isArray(v) ? v.map(String).join(", ") : v == null ? "" : String(v),
        { help: "custom field (empty removes it)" },
      ),
    );
  }
  return out;
}

function editDialog(t: Tracker, it: Item): Dialog {
  const kind = kindOf(t, it);
  const allowed = statusesForKind(t.config, kind);
  const statusOpts = allowed.map((s) => ({ value: s, label: s }));
  if (!allowed.includes(it.status))
    statusOpts.unshift({ value: it.status, label: `${it.status} (deprecated)` });
  const fields: DialogField[] = [
    field("status", "Status", "select", it.status, { options: statusOpts, help: "↑↓ change" }),
    field("priority", "Priority", "select", String(it.priority), {
      options: [0, 1, 2, 3, 4].map((p) => ({
        value: String(p),
        label: `P${p}`,
        hint: ["critical", "high", "normal", "low", "backlog"][p],
      })),
      help: "↑↓ change",
    }),
    field("title", "Title", "text", it.title, { required: true }),
    field("tags", "Tags (comma-separated)", "text", it.tags.join(", "), {
      help: "lowercase letters, digits, _",
    }),
    field("pr_ref", "PR reference", "text", it.pr_ref ?? ""),
    field("description", "Description", "multiline", it.description),
    ...schemaFieldsFor(kind, it),
  ];
  return {
    id: "edit",
    kind: "form",
    title: `Edit: ${it.title}`,
    lines: [`${it.id}  (${it.kind})`],
    fields,
    focus: 0,
    buttons: [
      { id: "save", label: "Save" },
      { id: "cancel", label: "Cancel" },
    ],
    itemId: it.id,
    data: { snapshot: it },
  };
}

/** Parse a custom field's input per its schema type; returns the value or an error. */
function parseField(
  kind: KindConfig | undefined,
  name: string,
  raw: string,
  fieldKind: DialogField["kind"],
): { value: YamlValue } | { error: string } {
  const sc = kind?.fields_schema.find(([n]) => n === name)?.[1];
  if (!sc) return { value: raw };
  switch (sc.type) {
    case "integer": {
      if (!/^-?\d+$/.test(raw.trim())) return { error: `${name} must be an integer` };
      const n = Number.parseInt(raw.trim(), 10);
      if (sc.min !== undefined && n < sc.min) return { error: `${name} must be ≥ ${sc.min}` };
      if (sc.max !== undefined && n > sc.max) return { error: `${name} must be ≤ ${sc.max}` };
      return { value: n };
    }
    case "boolean":
      return { value: raw === "true" };
    case "list":
      return {
        value: raw
          .split(fieldKind === "multiline" ? "\n" : ",")
          .map((x) => x.trim())
          .filter((x) => x !== ""),
      };
    default:
      return { value: raw };
  }
}

function tagsOf(raw: string): string[] {
  return [
    ...new Set(
      raw
        .split(",")
        .map((x) => x.trim())
        .filter((x) => x !== ""),
    ),
  ];
}

SUBMITS.set("edit", async (host, d) => {
  const t = host.tracker;
  const snap = (d.data as { snapshot: Item }).snapshot;
  const kind = kindOf(t, snap);
  const set: Record<string, YamlValue> = {};
  const title = val(d, "title");
  if (title.trim() === "") return setError(host, d, "Title cannot be empty", "title");
  if (title !== snap.title) set.title = title;
  if (val(d, "status") !== snap.status) set.status = val(d, "status");
  if (Number(val(d, "priority")) !== snap.priority) set.priority = Number(val(d, "priority"));
  if (val(d, "description") !== snap.description) set.description = val(d, "description");
  const pr = val(d, "pr_ref").trim();
  if ((pr || null) !== snap.pr_ref && pr !== "") set.pr_ref = pr;
  const tags = tagsOf(val(d, "tags"));
  const bad = tags.find((x) => !TAG_RE.test(x));
  if (bad) return setError(host, d, `tag name '${bad}' does not match ^[a-z_][a-z0-9_]*$`, "tags");
  const add = tags.filter((x) => !snap.tags.includes(x));
  const remove = snap.tags.filter((x) => !tags.includes(x));
  const fields: Record<string, YamlValue> = {};
  for (const f of d.fields.filter((x) => x.name.startsWith("f:"))) {
    const name = f.name.slice(2);
    const old = snap.fields[name];
    if (f.value.trim() === "" && f.kind !== "checkbox") {
      if (f.required) return setError(host, d, `${name} is required for ${snap.kind}`, f.name);
      if (old !== undefined) fields[name] = null;
      continue;
    }
    const parsed = parseField(kind, name, f.value, f.kind);
    if ("error" in parsed) return setError(host, d, parsed.error, f.name);
    if (JSON.stringify(parsed.value) !== JSON.stringify(old ?? null)) fields[name] = parsed.value;
  }
  if (Object.keys(fields).length) set.fields = fields;
  const input: UpdateInput = { set };
  if (add.length) input.add = { tags: add };
  if (remove.length) input.remove = { tags: remove };
  if (Object.keys(set).length === 0 && !add.length && !remove.length) {
    host.closeDialog();
    host.toast("No changes");
    return;
  }
  await write(host, d, async () => {
    await t.update(snap.id, input);
    return `Updated: ${snap.id}`;
  });
});

// ---- new -------------------------------------------------------------------------------

function newDialog(t: Tracker, s: AppState, kindName?: string, keep?: Dialog): Dialog {
  const kinds = t.config.kinds;
  const kind = kinds.find((k) => k.name === (kindName ?? "work_item")) ?? kinds[0];
  const statuses = statusesForKind(t.config, kind);
  const def = kind
    ? (t.config.blocking_statuses.find((x) => statuses.includes(x)) ?? statuses[0])
    : t.config.statuses[0];
  const prev = (name: string, dflt: string) => keep?.fields.find((f) => f.name === name)?.value ?? dflt;
  const fields: DialogField[] = [
    field("kind", "Kind", "select", kind?.name ?? "", {
      options: kinds.map((k) => ({ value: k.name, label: `${k.name} (${k.prefix})`, hint: k.description })),
      help: "↑↓ change: status and fields follow the kind",
    }),
    field("title", "Title", "text", prev("title", ""), { required: true }),
    ...schemaFieldsFor(kind, null).map((f) => ({
      ...f,
      value: prev(f.name, f.value),
      caret: prev(f.name, f.value).length,
    })),
    field("status", "Status", "select", statuses.includes(prev("status", def)) ? prev("status", def) : def, {
      options: statuses.map((x) => ({ value: x, label: x })),
    }),
    field("priority", "Priority", "select", prev("priority", "2"), {
      options: [0, 1, 2, 3, 4].map((p) => ({ value: String(p), label: `P${p}` })),
    }),
    field("tier", "Tier", "select", prev("tier", "workspace"), {
      options: [
        { value: "workspace", label: "workspace" },
        { value: "canonical", label: "canonical" },
        { value: "stealth", label: "stealth (local only)" },
      ],
    }),
    field("tags", "Tags (comma-separated)", "text", prev("tags", "")),
    field("description", "Description", "multiline", prev("description", "")),
  ];
  void s;
  return {
    id: "new",
    kind: "form",
    title: "New Item",
    fields,
    focus: keep ? keep.focus : 1,
    buttons: [
      { id: "create", label: "Create" },
      { id: "cancel", label: "Cancel" },
    ],
  };
}

SUBMITS.set("new", async (host, d) => {
  const t = host.tracker;
  const kind = t.config.kinds.find((k) => k.name === val(d, "kind"));
  const title = val(d, "title");
  if (title.trim() === "") return setError(host, d, "Title is required", "title");
  const tags = tagsOf(val(d, "tags"));
  const bad = tags.find((x) => !TAG_RE.test(x));
  if (bad) return setError(host, d, `tag name '${bad}' does not match ^[a-z_][a-z0-9_]*$`, "tags");
  const fields: Record<string, YamlValue> = {};
  for (const f of d.fields.filter((x) => x.name.startsWith("f:"))) {
    const name = f.name.slice(2);
    if (f.value.trim() === "" && f.kind !== "checkbox") {
      if (f.required) return setError(host, d, `${name} is required for ${kind?.name}`, f.name);
      continue;
    }
    if (f.kind === "checkbox" && f.value !== "true") continue;
    const parsed = parseField(kind, name, f.value, f.kind);
    if ("error" in parsed) return setError(host, d, parsed.error, f.name);
    fields[name] = parsed.value;
  }
  let created = "";
  const ok = await write(host, d, async () => {
    const r = await t.add({
      kind: val(d, "kind"),
      title,
      status: val(d, "status"),
      priority: Number(val(d, "priority")),
      tier: val(d, "tier") as Tier,
      tags,
      description: val(d, "description"),
      fields,
    });
    created = r.id;
    for (const w of r.warnings) host.toast(w, "warn");
    return `Created: ${r.id}`;
  });
  if (ok && created) host.focusItem(created);
});

// ---- duplicate --------------------------------------------------------------------------

/**
 * The "mark duplicate" dialog: the target typed (ID or prefix); in the clusters view the
 * other members of the item's cluster are listed and the first of them is filled in. (Item
 * text is made inert where dialogs are drawn.)
 */
function duplicateDialog(s: AppState, it: Item): Dialog {
  const cluster = s.view === "clusters" ? s.clusterView?.byId.get(it.id) : undefined;
  const others = cluster
    ? s.clusterView!.order.filter((id) => id !== it.id && s.clusterView!.byId.get(id)?.rank === cluster.rank)
    : [];
  const lines = [`Already a duplicate of: ${it.duplicate_of.join(", ") || "(none)"}`];
  if (others.length) {
    lines.push(`Its cluster (#${cluster!.rank}):`);
    for (const id of others.slice(0, 5))
      lines.push(`  ${id.split("-").slice(0, 2).join("-")}  ${s.byId.get(id)?.title ?? ""}`);
    if (others.length > 5) lines.push(`  … ${others.length - 5} more`);
  }
  return {
    id: "duplicate",
    kind: "form",
    title: `Mark duplicate: ${it.title}`,
    lines,
    fields: [field("of", "Duplicate of (ID or prefix)", "text", others[0] ?? "")],
    focus: 0,
    buttons: [
      { id: "mark", label: "Mark" },
      { id: "cancel", label: "Cancel" },
    ],
    itemId: it.id,
    submitOnEnter: true,
  };
}

SUBMITS.set("duplicate", async (host, d) => {
  const raw = val(d, "of").trim();
  if (raw === "") return setError(host, d, "Type the ID (or a prefix) of the item this one duplicates", "of");
  const refs = await resolveRefs(host, d, [raw], "of");
  if (!refs) return;
  const id = d.itemId!;
  const target = refs[0];
  if (target === id) return setError(host, d, "An item cannot be a duplicate of itself", "of");
  if (host.state.byId.get(id)?.duplicate_of.includes(target))
    return setError(host, d, `Already marked as a duplicate of ${target}`, "of");
  await write(host, d, async () => {
    await host.tracker.update(id, { add: { duplicate_of: [target] } });
    return `Marked ${id} as a duplicate of ${target}`;
  });
});

// ---- go to ------------------------------------------------------------------------------

/** Open the go-to prompt (tui.md §7.1's "Jump to ID", from the keyboard). */
export function openGoto(host: FlowHost): void {
  host.openDialog({
    id: "goto",
    kind: "form",
    title: "Go to item",
    lines: ["A full ID, a unique prefix (or its first word without the kind: jodak) or :N of the last list."],
    fields: [field("ref", "ID", "text", "", { placeholder: "INV-jodak…" })],
    focus: 0,
    buttons: [
      { id: "go", label: "Go" },
      { id: "cancel", label: "Cancel" },
    ],
    submitOnEnter: true,
  });
}

SUBMITS.set("goto", async (host, d) => {
  const raw = val(d, "ref").trim();
  if (raw === "") {
    setError(host, d, "Type an ID, a prefix or :N", "ref");
    return;
  }
  let refs: string[] | null;
  try {
    refs = await resolveRefs(host, d, [raw], "ref");
  } catch (e) {
    if (!(e instanceof AliasError)) throw e;
    setError(host, d, e.message, "ref");
    return;
  }
  if (!refs) return;
  host.closeDialog();
  host.goTo(refs[0]);
});

// ---- parent and isbefore ---------------------------------------------------------------

/**
 * Resolve typed references one by one; an ambiguous prefix opens a chooser and the chain
 * continues after the choice; nothing matching stops with a clear message.
 */
async function resolveRefs(
  host: FlowHost,
  d: Dialog,
  refs: string[],
  fieldName: string,
): Promise<string[] | null> {
  const out: string[] = [];
  const chosen = ((d.data as { chosen?: Record<string, string> })?.chosen ?? {}) as Record<string, string>;
  for (const ref of refs) {
    if (chosen[ref]) {
      out.push(chosen[ref]);
      continue;
    }
    try {
      out.push(host.tracker.resolve(ref));
    } catch (e) {
      if (e instanceof AmbiguousPrefixError) {
        host.openDialog({
          id: "choose",
          kind: "choose",
          title: `Ambiguous prefix: "${ref}"`,
          lines: ["Select the intended item:"],
          fields: [],
          focus: 0,
          cursor: 0,
          buttons: [{ id: "cancel", label: "Cancel" }],
          data: {
            options: e.candidates.map((c) => ({
              value: c.id,
              label: c.id,
              hint: `${c.title}${c.tier ? ` [${c.tier}]` : ""}`,
            })),
            ref,
            back: d,
          },
        });
        return null;
      }
      if (e instanceof ItemNotFoundError) {
        setError(host, d, `No item matches '${ref}'`, fieldName);
        return null;
      }
      throw e;
    }
  }
  return out;
}

SUBMITS.set("choose", async (host, d, b) => {
  const data = d.data as { options: { value: string }[]; ref: string; back: Dialog };
  if (b === "cancel") {
    host.openDialog(data.back);
    host.toast("Cancelled: nothing written", "warn");
    return;
  }
  const pick = data.options[d.cursor ?? 0]?.value;
  const back = data.back;
  const chosen = {
    ...((back.data as { chosen?: Record<string, string> })?.chosen ?? {}),
    [data.ref]: pick,
  };
  const resumed: Dialog = { ...back, data: { ...(back.data as object), chosen } };
  host.openDialog(resumed);
  await submitDialog(host, resumed, back.buttons[0].id);
});

function splitIds(raw: string): string[] {
  return raw
    .split(/[,\s]+/)
    .map((x) => x.trim())
    .filter((x) => x !== "");
}

SUBMITS.set("parent", async (host, d) => {
  const raw = val(d, "parent").trim();
  const id = d.itemId!;
  if (raw === "") {
    await write(host, d, async () => {
      await host.tracker.update(id, { set: { parent: null } });
      return `Parent cleared for ${id}`;
    });
    return;
  }
  const refs = await resolveRefs(host, d, [raw], "parent");
  if (!refs) return;
  const parent = refs[0];
  // (the store refuses it: no "save anyway")
  if (parent === id)
    return setError(host, d, `${parent} is this item: an item cannot be its own parent`, "parent");
  // Parent cycle warning (asked once).
  let cur: string | null = parent;
  const seen = new Set<string>();
  let cycle = false;
  while (cur && !seen.has(cur)) {
    if (cur === id) cycle = true;
    seen.add(cur);
    cur = host.state.byId.get(cur)?.parent ?? null;
  }
  const warned = (d.data as { warned?: boolean })?.warned;
  if (cycle && !warned) {
    host.openDialog({
      ...d,
      error: `Warning: ${parent} is a descendant of this item; this makes a parent cycle. Press Set again to save anyway.`,
      data: { ...(d.data as object), warned: true },
    });
    return;
  }
  await write(host, d, async () => {
    await host.tracker.update(id, { set: { parent } });
    return `Parent set for ${id}`;
  });
});

SUBMITS.set("isbefore", async (host, d) => {
  const id = d.itemId!;
  const addRaw = splitIds(val(d, "add"));
  const remRaw = splitIds(val(d, "remove"));
  if (addRaw.length === 0 && remRaw.length === 0) return setError(host, d, "Nothing to add or remove", "add");
  const add = await resolveRefs(host, d, addRaw, "add");
  if (!add) return;
  const rem = await resolveRefs(host, d, remRaw, "remove");
  if (!rem) return;
  if (add.includes(id)) return setError(host, d, `${id} is this item: an item cannot block itself`, "add");
  const cycles = add.map((x) => host.tracker.isbeforeCycle(id, x)).filter((c): c is string[] => !!c);
  const warned = (d.data as { warned?: boolean })?.warned;
  if (cycles.length && !warned) {
    host.openDialog({
      ...d,
      error: `Warning: cycle in isbefore links: ${cycles[0].join(" -> ")}. Validation will report it. Press Apply again to save anyway.`,
      data: { ...(d.data as object), warned: true },
    });
    return;
  }
  await write(host, d, async () => {
    const input: UpdateInput = {};
    if (add.length) input.add = { isbefore: add };
    if (rem.length) input.remove = { isbefore: rem };
    await host.tracker.update(id, input);
    return `Isbefore links updated for ${id}`;
  });
});

SUBMITS.set("move", async (host, d) => {
  const id = d.itemId!;
  const move = val(d, "move") as "promote" | "demote" | "stealth" | "unstealth";
  await write(host, d, async () => {
    await host.tracker[move](id);
    return `Tier moved: ${move} for ${id}`;
  });
});

// ---- locks -----------------------------------------------------------------------------

function lockDialog(t: Tracker, it: Item): Dialog {
  // Most-used first; then the rest of the store's lockable names.
  const first = ["title", "status", "priority", "tags", "parent", "isbefore", "description", "discussion"];
  const names: string[] = [
    ...first.filter((n) => (LOCKABLE_FIELDS as readonly string[]).includes(n)),
    ...[...LOCKABLE_FIELDS].filter((n) => !first.includes(n)),
  ];
  const kind = kindOf(t, it);
  for (const [f] of kind?.fields_schema ?? []) names.push(`fields.${f}`);
  for (const f of Object.keys(it.fields)) if (!names.includes(`fields.${f}`)) names.push(`fields.${f}`);
  for (const l of it.locked_fields) if (!names.includes(l)) names.push(l);
  return {
    id: "lock",
    kind: "form",
    title: "Lock/Unlock Fields",
    lines: [
      `Locked fields cannot be changed by agents. Currently locked: ${it.locked_fields.length ? it.locked_fields.join(", ") : "(none)"}`,
    ],
    fields: names.map((n) => field(`l:${n}`, n, "checkbox", it.locked_fields.includes(n) ? "true" : "false")),
    focus: 0,
    buttons: [
      { id: "apply", label: "Apply" },
      { id: "cancel", label: "Cancel" },
    ],
    itemId: it.id,
    data: { before: it.locked_fields },
  };
}

SUBMITS.set("lock", async (host, d) => {
  const before = (d.data as { before: string[] }).before;
  const want = d.fields.filter((f) => f.value === "true").map((f) => f.name.slice(2));
  const lock = want.filter((x) => !before.includes(x));
  const unlock = before.filter((x) => !want.includes(x));
  if (!lock.length && !unlock.length) {
    host.closeDialog();
    host.toast("No changes");
    return;
  }
  await write(host, d, async () => {
    if (lock.length) await host.tracker.lock(d.itemId!, lock);
    if (unlock.length) await host.tracker.unlock(d.itemId!, unlock);
    return `Lock state updated for ${d.itemId}`;
  });
});

// ---- message ops -----------------------------------------------------------------------

for (const action of ["msg-delete", "msg-undelete", "msg-edit"]) {
  SUBMITS.set(action, async (host, d) => {
    const reason = val(d, "reason").trim();
    if (reason.length < 1 || reason.length > 100)
      return setError(host, d, "Reason must be 1-100 characters", "reason");
    const nonce = (d.data as { nonce: string }).nonce;
    await write(host, d, async () => {
      if (action === "msg-delete") await host.tracker.deleteMsg(d.itemId!, nonce, reason);
      else if (action === "msg-undelete") await host.tracker.undeleteMsg(d.itemId!, nonce, reason);
      else {
        const text = val(d, "text");
        if (text.trim() === "") throw new TrackerError("New text is empty");
        await host.tracker.editMsgText(d.itemId!, nonce, text, reason);
      }
      return `${action === "msg-delete" ? "Deleted" : action === "msg-undelete" ? "Undeleted" : "Edited"} message ${nonce} on ${d.itemId}`;
    });
  });
}

// ---- generic dialog keys ---------------------------------------------------------------

/** Submit a dialog through its flow (button id, e.g. "save", "cancel"). */
export async function submitDialog(host: FlowHost, d: Dialog, button: string): Promise<void> {
  if (button === "cancel" || button === "no") {
    if (d.id === "choose") return SUBMITS.get("choose")!(host, d, "cancel");
    if (!d.id.startsWith("confirm-")) {
      host.closeDialog();
      return;
    }
  }
  const fn = SUBMITS.get(d.id);
  if (!fn) {
    host.closeDialog();
    return;
  }
  await fn(host, d, button);
}

function isText(f: DialogField | undefined): f is DialogField {
  return !!f && (f.kind === "text" || f.kind === "multiline");
}

function focusable(d: Dialog): number[] {
  const out: number[] = [];
  d.fields.forEach((f, i) => {
    if (f.kind !== "readonly") out.push(i);
  });
  d.buttons.forEach((_, i) => out.push(d.fields.length + i));
  return out;
}

function moveFocus(d: Dialog, delta: number): Dialog {
  const order = focusable(d);
  const i = Math.max(0, order.indexOf(d.focus));
  return { ...d, focus: order[(i + delta + order.length) % order.length] };
}

function editField(d: Dialog, f: DialogField, value: string, caret: number): Dialog {
  const fields = d.fields.map((x) => (x === f ? { ...x, value, caret, error: undefined } : x));
  return { ...d, fields };
}

/** Caret movement between lines of a multi-line value. */
function caretLine(value: string, caret: number, delta: number): number {
  const lines = value.split("\n");
  let pos = 0;
  let row = 0;
  for (; row < lines.length; row++) {
    if (caret <= pos + lines[row].length) break;
    pos += lines[row].length + 1;
  }
  const col = caret - pos;
  const target = row + delta;
  if (target < 0 || target >= lines.length) return caret;
  let p = 0;
  for (let r = 0; r < target; r++) p += lines[r].length + 1;
  return p + Math.min(col, lines[target].length);
}

/**
 * Keys inside a dialog: text editing, focus, selects, checkboxes, choosers, buttons, submit
 * (Ctrl+S) and cancel (Esc). Enter inserts a newline in multi-line fields.
 */
export async function dialogKey(host: FlowHost, k: string, ch?: string): Promise<void> {
  const d = host.state.dialog!;
  const f = d.focus < d.fields.length ? d.fields[d.focus] : undefined;
  const button = d.focus >= d.fields.length ? d.buttons[d.focus - d.fields.length] : undefined;
  const printable =
    ch !== undefined &&
    ch.length >= 1 &&
    !k.startsWith("C-") &&
    !k.startsWith("M-") &&
    !["enter", "tab", "escape", "backspace", "delete"].includes(k);
  // Dialog keys are data (keymaps/default.yaml, context `dialog`); text editing keys
  // (backspace, arrows, home/end, C-a/C-e/C-u/C-w) are the usual line-editing keys.
  const action = resolveKey(host.deps.keymap, ["dialog"], k);
  if ((d.kind === "choose" || d.kind === "list") && d.data) {
    const n = ((d.data as { options?: unknown[] }).options ?? []).length;
    if (action === "choice-prev") return host.openDialog({ ...d, cursor: Math.max(0, (d.cursor ?? 0) - 1) });
    if (action === "choice-next")
      return host.openDialog({ ...d, cursor: Math.min(n - 1, (d.cursor ?? 0) + 1) });
    if (action === "activate" || action === "submit") return submitDialog(host, d, "choose");
    if (action === "cancel") return submitDialog(host, d, "cancel");
  }
  if (isText(f) && printable) {
    const v = f.value;
    const c = Math.min(f.caret ?? v.length, v.length);
    const ins = ch === "\r" ? "\n" : ch!;
    if (f.kind === "text" && ins.includes("\n")) return;
    host.openDialog(editField(d, f, v.slice(0, c) + ins + v.slice(c), c + ins.length));
    return;
  }
  switch (action) {
    case "cancel":
      await submitDialog(host, d, "cancel");
      return;
    case "submit":
      await submitDialog(host, d, d.kind === "confirm" ? "yes" : d.buttons[0].id);
      return;
    case "next-field":
      host.openDialog(moveFocus(d, 1));
      return;
    case "prev-field":
      host.openDialog(moveFocus(d, -1));
      return;
    case "external-editor": {
      if (f?.kind !== "multiline") {
        host.toast("$EDITOR edits multi-line fields: move to one first", "warn");
        return;
      }
      if (!host.deps.editor) {
        host.toast("$EDITOR is not available in this session", "warn");
        return;
      }
      const r = await host.deps.editor(f.value);
      // The dialog may have been replaced while the editor ran (live updates keep it open).
      const cur = host.state.dialog;
      const target = cur?.fields.find((x) => x.name === f.name);
      if (r === null) host.toast("Editor exited with an error: text unchanged", "warn");
      else if (cur && target) host.openDialog(editField(cur, target, r, r.length));
      return;
    }
  }
  if (button) {
    if (action === "activate" || k === "space") await submitDialog(host, d, button.id);
    else if (k === "left" || k === "up") host.openDialog(moveFocus(d, -1));
    else if (k === "right" || k === "down") host.openDialog(moveFocus(d, 1));
    else if (d.kind === "confirm" && (k === "y" || k === "Y")) await submitDialog(host, d, "yes");
    else if (d.kind === "confirm" && (k === "n" || k === "N")) await submitDialog(host, d, "no");
    return;
  }
  if (!f) return;
  if (f.kind === "select") {
    const opts = f.options ?? [];
    const i = Math.max(
      0,
      opts.findIndex((o) => o.value === f.value),
    );
    if (k === "up" || k === "left" || k === "down" || k === "right" || k === "space") {
      const j = (i + (k === "up" || k === "left" ? -1 : 1) + opts.length) % opts.length;
      let next = editField(d, f, opts[j].value, 0);
      if (d.id === "new" && f.name === "kind")
        next = { ...newDialog(host.tracker, host.state, opts[j].value, next), focus: d.focus };
      host.openDialog(next);
      return;
    }
    if (action === "activate") host.openDialog(moveFocus(d, 1));
    return;
  }
  if (f.kind === "checkbox") {
    if (k === "space" || k === "x")
      host.openDialog(editField(d, f, f.value === "true" ? "false" : "true", 0));
    else if (action === "activate" || k === "down") host.openDialog(moveFocus(d, 1));
    else if (k === "up") host.openDialog(moveFocus(d, -1));
    return;
  }
  // Text fields.
  const v = f.value;
  const c = Math.min(f.caret ?? v.length, v.length);
  switch (action === "activate" ? "__activate__" : k) {
    case "space":
      host.openDialog(editField(d, f, `${v.slice(0, c)} ${v.slice(c)}`, c + 1));
      return;
    case "__activate__":
      if (f.kind === "text" && d.submitOnEnter) await submitDialog(host, d, d.buttons[0].id);
      else if (f.kind === "multiline")
        host.openDialog(editField(d, f, `${v.slice(0, c)}\n${v.slice(c)}`, c + 1));
      else host.openDialog(moveFocus(d, 1));
      return;
    case "backspace":
      if (c > 0) host.openDialog(editField(d, f, v.slice(0, c - 1) + v.slice(c), c - 1));
      return;
    case "delete":
      host.openDialog(editField(d, f, v.slice(0, c) + v.slice(c + 1), c));
      return;
    case "left":
      host.openDialog(editField(d, f, v, Math.max(0, c - 1)));
      return;
    case "right":
      host.openDialog(editField(d, f, v, Math.min(v.length, c + 1)));
      return;
    case "home":
    case "C-a":
      host.openDialog(editField(d, f, v, f.kind === "multiline" ? v.lastIndexOf("\n", c - 1) + 1 : 0));
      return;
    case "end":
    case "C-e": {
      const nl = v.indexOf("\n", c);
      host.openDialog(editField(d, f, v, f.kind === "multiline" && nl >= 0 ? nl : v.length));
      return;
    }
    case "C-u":
      host.openDialog(editField(d, f, v.slice(c), 0));
      return;
    case "C-w": {
      const before = v.slice(0, c).replace(/\S+\s*$/, "");
      host.openDialog(editField(d, f, before + v.slice(c), before.length));
      return;
    }
    case "up":
    case "down":
      if (f.kind === "multiline") {
        const nc = caretLine(v, c, k === "up" ? -1 : 1);
        if (nc !== c) {
          host.openDialog(editField(d, f, v, nc));
          return;
        }
      }
      host.openDialog(moveFocus(d, k === "up" ? -1 : 1));
      return;
  }
}

export { SUBMITS };
