/** Who must approve a delegation (access/approval-policy.ts) and the config that says so. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { approvalRuleFor, mayApprove } from '../src/access/approval-policy.ts';
import { parseConfigFile } from '../src/config.ts';

const CHANNEL = '100000000000000001';
const DANA = '200000000000000002';
const ROLE = '300000000000000003';

function settings(principals: Record<string, unknown> = {}) {
  const file = parseConfigFile(
    JSON.stringify({
      discord: {
        approval: {
          agents: { webster: { approverUserIds: [DANA], channel: CHANNEL } },
          principals,
        },
      },
    }),
    'c.json',
  );
  return file.discord.approval;
}

test("an agent's rule holds every run for it; other agents run at once", () => {
  const rule = approvalRuleFor(settings(), 'webster', ['manager']);
  assert.equal(rule?.channel, CHANNEL);
  assert.equal(rule?.ttlMinutes, 60, 'default ttl');
  assert.equal(rule?.allowSelfApproval, false);
  assert.equal(approvalRuleFor(settings(), 'secretary', ['manager']), undefined);
});

test("a principal's false exempts its runs; its rule replaces the agent's, for any agent", () => {
  const own = { approverRoleIds: [ROLE], channel: CHANNEL, ttlMinutes: 5 };
  const approval = settings({ manager: false, intern: own });
  assert.equal(approvalRuleFor(approval, 'webster', ['manager']), undefined);
  assert.equal(approvalRuleFor(approval, 'webster', ['intern', 'manager']), undefined, 'one exemption suffices');
  assert.deepEqual(approvalRuleFor(approval, 'secretary', ['intern'])?.approverRoleIds, [ROLE]);
  assert.equal(approvalRuleFor(approval, 'webster', ['intern'])?.ttlMinutes, 5);
});

test('only approvers may approve, and not their own run unless allowed', () => {
  const rule = approvalRuleFor(settings(), 'webster', ['manager'])!;
  assert.deepEqual(mayApprove(rule, { userId: DANA, roleIds: [] }, 'someone'), { allowed: true });
  assert.deepEqual(mayApprove(rule, { userId: 'x', roleIds: [ROLE] }, 'someone'), {
    allowed: false,
    code: 'not_approver',
  });
  assert.deepEqual(mayApprove(rule, { userId: DANA, roleIds: [] }, DANA), { allowed: false, code: 'self_approval' });
  assert.deepEqual(mayApprove({ ...rule, allowSelfApproval: true }, { userId: DANA, roleIds: [] }, DANA), {
    allowed: true,
  });
});

test('a rule without any approver is refused, naming the key', () => {
  assert.throws(
    () =>
      parseConfigFile(
        JSON.stringify({ discord: { approval: { agents: { webster: { channel: CHANNEL } } } } }),
        'c.json',
      ),
    /c\.json: discord\.approval\.agents\.webster: at least one approver/,
  );
});
