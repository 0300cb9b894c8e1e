/**
 * Who may delegate to whom. Callers hand in every principal the person (or bot) holds, and one
 * allowing principal suffices; the target agent itself never grants it (no self-delegation).
 */
export type Acl = Readonly<Record<string, readonly string[]>>;

export const AclDenial = {
  noPrincipal: 'no_principal',
  selfDelegation: 'self_delegation',
  unknownPrincipal: 'unknown_principal',
  notAllowed: 'not_allowed',
} as const;
export type AclDenial = (typeof AclDenial)[keyof typeof AclDenial];

type AclDecision =
  | { readonly allowed: true; readonly principal: string }
  | { readonly allowed: false; readonly code: AclDenial; readonly reason: string };

function targetsOf(principal: string, acl: Acl): readonly string[] | undefined {
  // Object.hasOwn: a principal named "constructor" or "__proto__" must not find Object.prototype.
  return Object.hasOwn(acl, principal) ? acl[principal] : undefined;
}

function quoteAll(names: readonly string[]): string {
  return names.map((name) => `'${name}'`).join(', ');
}

export function authorize(principals: readonly string[], target: string, acl: Acl): AclDecision {
  const unique = [...new Set(principals)];
  if (unique.length === 0) {
    return {
      allowed: false,
      code: AclDenial.noPrincipal,
      reason: `no caller identity was given, so nobody may delegate to '${target}'`,
    };
  }
  const others = unique.filter((principal) => principal !== target);
  for (const principal of others) {
    if (targetsOf(principal, acl)?.includes(target)) return { allowed: true, principal };
  }
  if (others.length === 0) {
    return { allowed: false, code: AclDenial.selfDelegation, reason: `'${target}' cannot delegate to itself` };
  }
  const known = others.filter((principal) => targetsOf(principal, acl) !== undefined);
  if (known.length === 0) {
    return {
      allowed: false,
      code: AclDenial.unknownPrincipal,
      reason: `${quoteAll(others)} ${others.length === 1 ? 'is' : 'are'} not in the delegation ACL, so cannot delegate to '${target}'`,
    };
  }
  return { allowed: false, code: AclDenial.notAllowed, reason: `${quoteAll(known)} cannot delegate to '${target}'` };
}

/** Every agent at least one of the principals may delegate to (for autocomplete), sorted. */
export function allowedTargets(principals: readonly string[], acl: Acl): string[] {
  const targets = new Set<string>();
  for (const principal of new Set(principals)) {
    for (const target of targetsOf(principal, acl) ?? []) {
      if (target !== principal) targets.add(target);
    }
  }
  return [...targets].sort();
}
