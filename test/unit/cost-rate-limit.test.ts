import { describe, expect, it } from 'vitest';
import { formatRateLimit, loadCostData } from '../../cost/cli';
import { rateLimitExtras, type CfnTemplate, type RateLimitCounts } from '../../cost/model';

// `npm run cost`: what a lane's rate limit and deferrals add (issue 22), from the counts
// bench/rate-limit.ts measured and the unit prices.

const { prices, requests } = loadCostData();

const counts: RateLimitCounts = {
  source: 'bench/rate-limit.ts, test figures',
  bucketPerRun: { low: { writeUnits: 1, readUnits: 0 }, high: { writeUnits: 1.2, readUnits: 0.4 } },
  deferralsPerRun: { low: 0, high: 5 },
  perDeferral: { dynamodb: { writeUnits: 1 }, sqs: { ChangeMessageVisibility: 1, ReceiveMessage: 0.1 } },
};

/** A consumer function of lane `lane` with `RATE_LIMIT` = `rateLimit`. */
const consumer = (lane: string, rateLimit: string) => ({
  Type: 'AWS::Lambda::Function',
  Properties: { Environment: { Variables: { LANE: lane, RATE_LIMIT: rateLimit } } },
});

describe('cost: rate limits and deferrals', () => {
  it('prices a deferral and the runs of a rate-limited lane from the measured counts', () => {
    // Prepare: one rate-limited lane, one without a limit, one whose limit is not a literal.
    const template: CfnTemplate = {
      Resources: {
        Fitness: consumer('fitness', '{"perSecond":2,"burst":1}'),
        Standard: consumer('standard', 'null'),
        Other: { Type: 'AWS::SQS::Queue', Properties: {} },
      },
    };

    // Act
    const x = rateLimitExtras(template, counts, prices);

    // Assess: a deferral is one write unit and 1.1 SQS requests.
    const w = prices.dynamodb.writeRequestUnitPerMillion;
    const r = prices.dynamodb.readRequestUnitPerMillion;
    const deferral = w + 1.1 * prices.sqs.standardRequestPerMillion;
    expect(x.perDeferralUsdPerMillion.standard).toBeCloseTo(deferral, 12);
    expect(x.perDeferralUsdPerMillion.fifo).toBeCloseTo(w + 1.1 * prices.sqs.fifoRequestPerMillion, 12);
    expect(x.perRun.low).toEqual({ bucketWriteUnits: 1, bucketReadUnits: 0, deferrals: 0, usdPerMillion: w });
    expect(x.perRun.high.usdPerMillion).toBeCloseTo(1.2 * w + 0.4 * r + 5 * deferral, 12);
    expect(x.rateLimitedLanes).toEqual({ fitness: { perSecond: 2, burst: 1 } });
  });

  it('says what it adds, that it is not in the totals, and which lanes have a limit', () => {
    const x = rateLimitExtras(
      { Resources: { F: consumer('fitness', '{"perSecond":2,"burst":1}') } },
      counts,
      prices,
    );

    const text = formatRateLimit(x);

    expect(text.split('\n')).toHaveLength(5);
    expect(text).toMatch(
      /^rate limits and deferrals \(bench\/rate-limit\.ts, test figures; not in the totals above/,
    );
    expect(text).toContain('1 write + 0 read units on its bucket row and 0 deferral(s) per admitted run');
    expect(text).toContain('1.2 write + 0.4 read units on its bucket row and 5 deferral(s) per admitted run');
    expect(text).toContain('lanes of this template with a rate limit: fitness (2/s, burst 1)');
  });

  it('ships measured counts with their source', () => {
    expect(requests.rateLimit?.source).toMatch(/^bench\/rate-limit\.ts/);
    expect(requests.rateLimit?.perDeferral).toEqual(counts.perDeferral);
  });
});
