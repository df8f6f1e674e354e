import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redactHeaders, redactSettings, redactUrl } from '../../core/redact.ts';

describe('redactUrl', () => {
  it('hides the password of the userinfo and keeps the rest as written', () => {
    assert.equal(redactUrl('https://user:s3cret@collector:4318/v1/traces'), 'https://user:***@collector:4318/v1/traces');
    assert.equal(redactUrl('http://user:s3cret@localhost:4318'), 'http://user:***@localhost:4318');
  });

  it('hides a lone user name (often a token) and secret query parameters', () => {
    assert.equal(redactUrl('https://glpat-abc123@collector/v1/traces'), 'https://***@collector/v1/traces');
    assert.equal(redactUrl('https://collector/v1/traces?api_key=abc&region=eu'), 'https://collector/v1/traces?api_key=***&region=eu');
  });

  it('leaves URLs without credentials alone', () => {
    assert.equal(redactUrl('http://localhost:4318'), 'http://localhost:4318');
    assert.equal(redactUrl('http://localhost:4318/v1/traces'), 'http://localhost:4318/v1/traces');
  });

  it('hides userinfo in text that is not a valid URL', () => {
    assert.equal(redactUrl('collector //me:pw@host:99999'), 'collector //***@host:99999');
  });
});

describe('redactHeaders', () => {
  it('keeps header names and hides every value', () => {
    assert.equal(redactHeaders('Authorization=Bearer%20abc, x-honeycomb-team=key1'), 'Authorization=***,x-honeycomb-team=***');
    assert.equal(redactHeaders({ authorization: 'Basic dXNlcjpwYXNz' }), 'authorization=***');
    assert.equal(redactHeaders(''), '');
  });
});

describe('redactSettings', () => {
  it('hides SASL passwords and tokens at any depth', () => {
    const printed = JSON.stringify(
      redactSettings({
        brokers: ['kafka:9092'],
        sasl: { mechanism: 'scram-sha-512', username: 'app', password: 'hunter2' },
        ssl: { key: 'PRIVATE KEY', cert: Buffer.from('CERT') },
        oauth: { oauthBearerProvider: () => ({ value: 'token' }) },
        retry: { onRetry: () => undefined },
      }),
    );
    assert.deepEqual(JSON.parse(printed), {
      brokers: ['kafka:9092'],
      sasl: { mechanism: 'scram-sha-512', username: 'app', password: '***' },
      ssl: { key: '***', cert: '[4 bytes]' },
      oauth: { oauthBearerProvider: '***' },
      retry: { onRetry: '[function]' },
    });
    assert.ok(!printed.includes('hunter2') && !printed.includes('PRIVATE'));
  });
});
