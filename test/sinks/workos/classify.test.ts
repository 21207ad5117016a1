import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BadRequestException, GenericServerException } from '@workos-inc/node';
import { classify } from '../../../sinks/workos/classify.ts';

const BCRYPT = '$2a$10$fgPOubgdJs90F1GK2u.Qye7Xyyi2ajrQJoB5LDG5bnITEvFR/xhZ.';

test('a server message echoing a password hash, the Authorization header or the key is stored without them', () => {
  const echoed = new BadRequestException({
    code: 'invalid_request',
    message: `password_hash ${BCRYPT} is not accepted; got Authorization: Bearer sk_test_abc123 for key sk_live_XYZ`,
    requestID: 'req_1',
  });
  assert.deepEqual(classify(echoed), {
    errorClass: 'permanent',
    code: 'invalid_request',
    message: 'password_hash [password hash] is not accepted; got Authorization: Bearer [redacted] for key [API key]',
    status: 400,
  });
  const argon = new GenericServerException(500, `bad hash $argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA`, {}, 'req_2');
  assert.equal(classify(argon).message, 'bad hash [password hash]');
  // Echoed as JSON, without a space after the hash: what follows it is the server's own words, kept.
  const json = new GenericServerException(500, `cannot store {"password_hash":"${BCRYPT}","email":"ana@example.com"} (field 6)`, {}, 'req_3');
  assert.equal(classify(json).message, 'cannot store {"password_hash":"[password hash]","email":"ana@example.com"} (field 6)');
});
