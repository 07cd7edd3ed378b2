import { describe, expect, it } from 'vitest';
import { LocalModeError } from '../../local/errors';
import {
  generatedName,
  LOCAL_ACCOUNT_ID,
  localPseudoParameters,
  Resolver,
} from '../../local/template/resolver';
import type { TemplateResource } from '../../local/template/reader';

const STACK = 'EventPipeline-local';

function resource(
  logicalId: string,
  type: string,
  properties: Record<string, unknown> = {},
): TemplateResource {
  return { logicalId, type, properties, metadata: {}, dependsOn: [], stackName: STACK };
}

const QUEUE_URL = 'http://sqs.us-east-1.localhost:4566/000000000000/EventPipeline-local-StandardQueue-abc';
const QUEUE_ARN = 'arn:aws:sqs:us-east-1:000000000000:EventPipeline-local-StandardQueue-abc';

function resolverFor(...resources: TemplateResource[]): Resolver {
  const resolver = new Resolver({
    pseudo: localPseudoParameters(STACK, 'eu-west-1'),
    resources: new Map(resources.map((r) => [r.logicalId, r])),
    parameters: new Map([
      ['Greeting', { Type: 'String', Default: 'hello' }],
      ['Names', { Type: 'CommaDelimitedList', Default: 'a,b' }],
      ['NoDefault', { Type: 'String' }],
    ]),
  });
  return resolver;
}

const at = { resource: 'Fn', property: 'Environment.Variables.X' };

describe('template resolver', () => {
  const queue = resource('StandardQueue', 'AWS::SQS::Queue');
  const fifo = resource('FifoQueue', 'AWS::SQS::Queue', { FifoQueue: true });
  const bucket = resource('ArchiveBucket', 'AWS::S3::Bucket');
  const fn = resource('ConsumerFunction', 'AWS::Lambda::Function');
  const api = resource('Api', 'AWS::ApiGateway::RestApi');
  const stage = resource('ApiStage', 'AWS::ApiGateway::Stage', { StageName: 'local' });
  const named = resource('NamedQueue', 'AWS::SQS::Queue', {
    QueueName: { 'Fn::Sub': '${AWS::StackName}-named' },
  });
  const table = resource('StatusTable', 'AWS::DynamoDB::Table');
  const r = resolverFor(queue, fifo, bucket, fn, api, stage, named, table);
  r.provide('StandardQueue', { Ref: QUEUE_URL, QueueUrl: QUEUE_URL, Arn: QUEUE_ARN });

  describe('pseudo parameters', () => {
    it.each([
      ['AWS::Region', 'eu-west-1'],
      ['AWS::AccountId', LOCAL_ACCOUNT_ID],
      ['AWS::Partition', 'aws'],
      ['AWS::URLSuffix', 'amazonaws.com'],
      ['AWS::StackName', STACK],
    ])('resolves Ref %s to %s', (name, value) => {
      expect(r.resolve({ Ref: name }, at)).toBe(value);
    });

    it('resolves AWS::StackId to a stable stack ARN', () => {
      const id = r.resolve({ Ref: 'AWS::StackId' }, at);
      expect(id).toMatch(
        /^arn:aws:cloudformation:eu-west-1:000000000000:stack\/EventPipeline-local\/[0-9a-f-]{36}$/,
      );
      expect(r.resolve({ Ref: 'AWS::StackId' }, at)).toBe(id);
    });

    it('defaults the region to us-east-1', () => {
      expect(localPseudoParameters(STACK).region).toBe('us-east-1');
    });

    it('drops a property whose value is Ref AWS::NoValue', () => {
      expect(
        r.resolve({ A: 'x', B: { Ref: 'AWS::NoValue' }, C: ['y', { Ref: 'AWS::NoValue' }] }, at),
      ).toEqual({ A: 'x', C: ['y'] });
    });
  });

  describe('Ref', () => {
    it('resolves a queue to the URL the emulator created', () => {
      expect(r.resolve({ Ref: 'StandardQueue' }, at)).toBe(QUEUE_URL);
    });

    it('resolves a bucket and a function to their physical names', () => {
      expect(r.resolve({ Ref: 'ArchiveBucket' }, at)).toBe(r.physicalName('ArchiveBucket'));
      expect(r.resolve({ Ref: 'ConsumerFunction' }, at)).toBe(r.physicalName('ConsumerFunction'));
    });

    it('resolves a stage to its stage name and a parameter to its default', () => {
      expect(r.resolve({ Ref: 'ApiStage' }, at)).toBe('local');
      expect(r.resolve({ Ref: 'Greeting' }, at)).toBe('hello');
      expect(r.resolve({ Ref: 'Names' }, at)).toEqual(['a', 'b']);
    });
  });

  describe('Fn::GetAtt', () => {
    it('resolves queue Arn, QueueName and QueueUrl', () => {
      expect(r.resolve({ 'Fn::GetAtt': ['StandardQueue', 'Arn'] }, at)).toBe(QUEUE_ARN);
      expect(r.resolve({ 'Fn::GetAtt': ['StandardQueue', 'QueueUrl'] }, at)).toBe(QUEUE_URL);
      expect(r.resolve({ 'Fn::GetAtt': ['StandardQueue', 'QueueName'] }, at)).toBe(
        r.physicalName('StandardQueue'),
      );
    });

    it('resolves a DynamoDB table: Ref its generated name, Arn its table ARN', () => {
      const name = r.physicalName('StatusTable');
      expect(name).toMatch(/^EventPipeline-local-StatusTable-[A-Za-z0-9]{12}$/);
      expect(r.resolve({ Ref: 'StatusTable' }, at)).toBe(name);
      expect(r.resolve({ 'Fn::GetAtt': ['StatusTable', 'Arn'] }, at)).toBe(
        `arn:aws:dynamodb:eu-west-1:${LOCAL_ACCOUNT_ID}:table/${name}`,
      );
    });

    it('accepts the "LogicalId.Attribute" string form', () => {
      expect(r.resolve({ 'Fn::GetAtt': 'StandardQueue.Arn' }, at)).toBe(QUEUE_ARN);
    });

    it('resolves bucket Arn, RegionalDomainName and a function Arn', () => {
      const name = r.physicalName('ArchiveBucket');
      expect(r.resolve({ 'Fn::GetAtt': ['ArchiveBucket', 'Arn'] }, at)).toBe(`arn:aws:s3:::${name}`);
      expect(r.resolve({ 'Fn::GetAtt': ['ArchiveBucket', 'RegionalDomainName'] }, at)).toBe(
        `${name}.s3.eu-west-1.amazonaws.com`,
      );
      expect(r.resolve({ 'Fn::GetAtt': ['ConsumerFunction', 'Arn'] }, at)).toBe(
        `arn:aws:lambda:eu-west-1:000000000000:function:${r.physicalName('ConsumerFunction')}`,
      );
    });

    it('resolves a RestApi RootResourceId', () => {
      expect(r.resolve({ 'Fn::GetAtt': ['Api', 'RootResourceId'] }, at)).toMatch(/^[a-z0-9]{10}$/);
    });
  });

  describe('Fn::Join, Fn::Select, Fn::Split, Fn::Sub, Fn::Base64', () => {
    it('joins resolved parts', () => {
      expect(r.resolve({ 'Fn::Join': ['', ['[{"url":"', { Ref: 'StandardQueue' }, '"}]']] }, at)).toBe(
        `[{"url":"${QUEUE_URL}"}]`,
      );
    });

    it('selects from a split list', () => {
      expect(
        r.resolve(
          { 'Fn::Select': [5, { 'Fn::Split': [':', { 'Fn::GetAtt': ['StandardQueue', 'Arn'] }] }] },
          at,
        ),
      ).toBe('EventPipeline-local-StandardQueue-abc');
    });

    it('substitutes pseudo parameters, attributes, references and variables, keeping ${!literal}', () => {
      const out = r.resolve(
        {
          'Fn::Sub': [
            '${AWS::Region}/${StandardQueue.Arn}/${Greeting}/${Extra}/${!Literal}',
            { Extra: { Ref: 'AWS::AccountId' } },
          ],
        },
        at,
      );
      expect(out).toBe(`eu-west-1/${QUEUE_ARN}/hello/000000000000/\${Literal}`);
      expect(r.resolve({ 'Fn::Sub': 'arn:${AWS::Partition}:s3:::x' }, at)).toBe('arn:aws:s3:::x');
    });

    it('encodes Fn::Base64', () => {
      expect(r.resolve({ 'Fn::Base64': { 'Fn::Sub': '${AWS::Region}' } }, at)).toBe(
        Buffer.from('eu-west-1').toString('base64'),
      );
    });

    it('resolves nested objects and arrays', () => {
      expect(r.resolve({ a: [{ b: { Ref: 'AWS::Region' } }], n: 3, t: true }, at)).toEqual({
        a: [{ b: 'eu-west-1' }],
        n: 3,
        t: true,
      });
    });
  });

  describe('physical names', () => {
    it('generates CloudFormation-style names that are the same on every run', () => {
      const name = r.physicalName('StandardQueue');
      expect(name).toMatch(/^EventPipeline-local-StandardQueue-[A-Za-z0-9]{12}$/);
      expect(resolverFor(queue).physicalName('StandardQueue')).toBe(name);
    });

    it('ends FIFO queue names in .fifo and keeps them within 80 characters', () => {
      expect(r.physicalName('FifoQueue')).toMatch(/^EventPipeline-local-FifoQueue-[A-Za-z0-9]{12}\.fifo$/);
      const long = generatedName(STACK, 'Q'.repeat(200), { maxLength: 80, suffix: '.fifo' });
      expect(long).toHaveLength(80);
      expect(long.endsWith('.fifo')).toBe(true);
    });

    it('lowercases bucket names and keeps them within 63 characters', () => {
      const name = r.physicalName('ArchiveBucket');
      expect(name).toBe(name.toLowerCase());
      expect(name.length).toBeLessThanOrEqual(63);
      expect(generatedName(STACK, 'B'.repeat(100), { maxLength: 63, lowercase: true })).toHaveLength(63);
    });

    it('uses an explicit name property, resolved', () => {
      expect(r.physicalName('NamedQueue')).toBe('EventPipeline-local-named');
    });
  });

  describe('errors', () => {
    const attempt = (value: unknown) => () => r.resolve(value, at);

    it('names the resource and property for an unknown intrinsic', () => {
      expect(attempt({ 'Fn::If': ['c', 'a', 'b'] })).toThrow(LocalModeError);
      expect(attempt({ 'Fn::If': ['c', 'a', 'b'] })).toThrow(
        /Fn property Environment\.Variables\.X: .*Fn::If is not supported/,
      );
    });

    it('names the missing resource of a Ref', () => {
      expect(attempt({ Ref: 'Nope' })).toThrow(
        /Fn property Environment\.Variables\.X: Ref Nope: no resource Nope/,
      );
    });

    it('rejects an attribute without a local value', () => {
      expect(attempt({ 'Fn::GetAtt': ['ArchiveBucket', 'Nope'] })).toThrow(
        /attribute Nope of AWS::S3::Bucket has no local value/,
      );
    });

    it('says when a queue is referenced before the emulator created it', () => {
      expect(attempt({ 'Fn::GetAtt': ['FifoQueue', 'Arn'] })).toThrow(
        /FifoQueue has not been created in the emulator yet/,
      );
    });

    it('rejects unknown pseudo parameters and parameters without a default', () => {
      expect(attempt({ Ref: 'AWS::Nope' })).toThrow(/unknown pseudo parameter AWS::Nope/);
      expect(attempt({ Ref: 'NoDefault' })).toThrow(/parameter NoDefault has no Default/);
    });

    it('reports the path inside the property', () => {
      expect(attempt({ 'Fn::Join': ['', ['a', { Ref: 'Missing' }]] })).toThrow(
        /Environment\.Variables\.X: Ref Missing/,
      );
      expect(() => r.resolve({ List: [{ Ref: 'Missing' }] }, { resource: 'Q', property: '' })).toThrow(
        /Q property List\[0\]/,
      );
    });

    it('rejects a Select index out of range', () => {
      expect(attempt({ 'Fn::Select': [3, ['a']] })).toThrow(/out of range/);
    });
  });
});
