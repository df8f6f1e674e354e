import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testDriver } from 'sluice/testing';
import job, { spent } from '../jobs/example.ts';

const at = Date.UTC(2026, 0, 1);

test('a user is reported once, when their total passes the limit', async () => {
  const driver = await testDriver(job, { settings: { limit: 100 } });
  driver.inputs.payments.pipe({ user: 'ada', amount: 60, at });
  driver.inputs.payments.pipe({ user: 'ada', amount: 50, at: at + 1000 });
  driver.inputs.payments.pipe({ user: 'ada', amount: 10, at: at + 2000 });
  driver.inputs.payments.pipe({ user: 'bob', amount: 20, at });
  assert.deepEqual(await driver.outputs.alerts.read(), [{ user: 'ada', total: 110, payments: 2 }]);
  assert.deepEqual(driver.state(spent, 'ada'), { total: 120, payments: 3 });
  await driver.close();
});

test('a payment that breaks the schema goes to the dead letters, and the job goes on', async () => {
  const driver = await testDriver(job);
  driver.inputs.payments.pipe({ user: 'eve', amount: -5, at });
  driver.inputs.payments.pipe({ user: 'eve', amount: 5, at });
  const [letter] = await driver.deadLetters.read();
  assert.match(letter?.reason ?? '', /amount/);
  assert.deepEqual(driver.state(spent, 'eve'), { total: 5, payments: 1 });
  await driver.close();
});
