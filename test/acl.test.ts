import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allowedTargets, authorize } from '../src/access/acl.ts';
import { REFERENCE_ACL } from '../src/config.ts';

test('a principal listed for the target is allowed, and named in the answer', () => {
  assert.deepEqual(authorize(['manager'], 'tech-lead', REFERENCE_ACL), { allowed: true, principal: 'manager' });
});

test('a known principal without the target is denied', () => {
  assert.deepEqual(authorize(['tech-lead'], 'auditor', REFERENCE_ACL), {
    allowed: false,
    code: 'not_allowed',
    reason: "'tech-lead' cannot delegate to 'auditor'",
  });
});

test('an agent the reference lists nowhere cannot delegate at all', () => {
  const decision = authorize(['webster'], 'secretary', REFERENCE_ACL);
  assert.equal(decision.allowed, false);
  assert.equal(!decision.allowed && decision.code, 'unknown_principal');
});

test('an unknown principal is denied, even one named like an Object.prototype key', () => {
  for (const principal of ['stranger', 'constructor', '__proto__', 'toString']) {
    const decision = authorize([principal], 'webster', REFERENCE_ACL);
    assert.equal(decision.allowed, false, principal);
    assert.equal(!decision.allowed && decision.code, 'unknown_principal');
  }
});

test('no self-delegation: a principal equal to the target never grants it, whatever the table says', () => {
  const acl = { webster: ['webster', 'secretary'] };
  assert.deepEqual(authorize(['webster'], 'webster', acl), {
    allowed: false,
    code: 'self_delegation',
    reason: "'webster' cannot delegate to itself",
  });
});

test('any one allowing principal suffices among several', () => {
  assert.deepEqual(authorize(['stranger', 'webster', 'optimizer'], 'study-builder', REFERENCE_ACL), {
    allowed: true,
    principal: 'optimizer',
  });
});

test('a self principal among others does not block another principal from granting', () => {
  assert.deepEqual(authorize(['webster', 'manager'], 'webster', REFERENCE_ACL), {
    allowed: true,
    principal: 'manager',
  });
});

test('no principal at all is denied', () => {
  const decision = authorize([], 'webster', REFERENCE_ACL);
  assert.equal(!decision.allowed && decision.code, 'no_principal');
});

test('the operator principal may reach every agent', () => {
  for (const agent of REFERENCE_ACL.operator ?? [])
    assert.equal(authorize(['operator'], agent, REFERENCE_ACL).allowed, true, agent);
});

test('allowedTargets is the sorted union over principals, without self-delegation', () => {
  assert.deepEqual(allowedTargets(['tech-lead', 'optimizer'], REFERENCE_ACL), [
    'nx-expert',
    'secretary',
    'study-builder',
    'webster',
  ]);
  assert.deepEqual(allowedTargets(['webster'], { webster: ['webster', 'auditor'] }), ['auditor']);
  assert.deepEqual(allowedTargets(['nobody'], REFERENCE_ACL), []);
});
