import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');
/** Files git tracks (what a clone gets), minus the lock file's integrity hashes. */
const tracked = execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' })
  .split('\n')
  .filter((f) => f && f !== 'package-lock.json');

const PATTERNS: [string, RegExp][] = [
  // Access key ids with EXAMPLE in them are AWS's documented form of a made-up one.
  ['AWS access key id', /\b(AKIA|ASIA)(?![0-9A-Z]*EXAMPLE)[0-9A-Z]{16}\b/],
  ['AWS secret access key assignment', /aws_secret_access_key\s*[=:]\s*['"]?[A-Za-z0-9/+=]{40}/i],
  ['private key', /-----BEGIN (RSA |EC |OPENSSH )?PRIVATE KEY-----/],
  // 12-digit AWS account ids in ARNs; 000000000000 (local mode's placeholder) and the documented
  // examples 123456789012, 111122223333 and 444455556666 are allowed.
  [
    'account id in an ARN',
    /arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(?!000000000000|123456789012|111122223333|444455556666)\d{12}:/,
  ],
];

describe('committed files', () => {
  it('hold no credentials, private keys or real account ids', () => {
    const findings: string[] = [];
    for (const file of tracked) {
      let text: string;
      try {
        text = readFileSync(join(ROOT, file), 'utf8');
      } catch {
        continue;
      }
      for (const [what, re] of PATTERNS) if (re.test(text)) findings.push(`${file}: ${what}`);
    }
    expect(tracked.length).toBeGreaterThan(50);
    expect(findings).toEqual([]);
  });

  it('the scanner recognises what it looks for', () => {
    const sample = ['AKIA' + 'ABCDEFGHIJKLMNOP', 'arn:aws:sqs:eu-west-1:' + '987654321098:queue'];
    expect(PATTERNS[0]![1].test(sample[0]!)).toBe(true);
    expect(PATTERNS[3]![1].test(sample[1]!)).toBe(true);
    expect(PATTERNS[3]![1].test('arn:aws:sqs:us-east-1:000000000000:q')).toBe(false);
    expect(PATTERNS[0]![1].test('AKIA' + 'IOSFODNN7EXAMPLE')).toBe(false);
    expect(PATTERNS[3]![1].test('arn:aws:iam::' + '444455556666:role/x')).toBe(false);
  });
});
