import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OutboundAddressPolicy } from '../src/outbound/address-policy.js';

test('public addresses are allowed; loopback, private, link-local, metadata and tunnels are not', () => {
  const policy = new OutboundAddressPolicy([]);
  for (const address of ['8.8.8.8', '93.184.215.14', '1.1.1.1', '2606:4700:4700::1111', '2a00:1450:4001:80b::200e']) {
    assert.equal(policy.isAllowed(address, 'example.com'), true, address);
  }
  for (const address of [
    '127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1',
    '::1', '::', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', '2002:7f00:1::1', '64:ff9b::7f00:1',
  ]) {
    assert.equal(policy.isAllowed(address, 'example.com'), false, address);
  }
  assert.equal(policy.checkUrl('https://8.8.8.8/hook').hostname, '8.8.8.8');
  assert.throws(() => policy.checkUrl('http://127.0.0.1/'), /url_not_allowed|loopback/);
  assert.throws(() => policy.checkUrl('file:///etc/passwd'), /Only http and https/);
});

test('--outbound-allow opens hosts, single addresses and networks, nothing more', () => {
  const policy = new OutboundAddressPolicy(['127.0.0.1', '10.20.0.0/16', 'hooks.internal']);
  assert.equal(policy.isAllowed('127.0.0.1', 'x'), true);
  assert.equal(policy.isAllowed('127.0.0.2', 'x'), false);
  assert.equal(policy.isAllowed('10.20.5.5', 'x'), true);
  assert.equal(policy.isAllowed('10.21.5.5', 'x'), false);
  assert.equal(policy.isAllowed('192.168.1.1', 'hooks.internal'), true);
});
