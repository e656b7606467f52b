// The buttons a handler puts under a message (its `actions` key, `gptchat.Action`). Pure.
import type { MessageAction } from "../protocol.gen";
import type { AccMessage } from "./merge";

/**
 * A message's actions, each with a name and a label; anything else there is left out.
 *
 *     actionsOf({ actions: [{ name: "retry", label: "Try again" }] })
 *     // -> [{ name: "retry", label: "Try again" }]
 */
export function actionsOf(message: AccMessage): MessageAction[] {
  const list = message["actions"];
  if (!Array.isArray(list)) return [];
  const seen = new Set<string>();
  return list.filter((a): a is MessageAction => {
    const ok =
      typeof a === "object" &&
      a !== null &&
      typeof (a as MessageAction).name === "string" &&
      typeof (a as MessageAction).label === "string" &&
      !seen.has((a as MessageAction).name);
    if (ok) seen.add((a as MessageAction).name);
    return ok;
  });
}
