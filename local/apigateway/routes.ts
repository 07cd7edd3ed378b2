import type { ApiResourceSpec, MethodSpec } from '../template/topology';

/** A matched route. */
export interface RouteMatch {
  readonly resource: ApiResourceSpec;
  readonly method: MethodSpec;
  readonly pathParameters: Record<string, string> | null;
}

/**
 * Finds the resource and method for `method` + `path` the way API Gateway does: literal path parts
 * win over `{param}`, which wins over a greedy `{proxy+}`; a method of the resource wins over its
 * `ANY`. `undefined` means API Gateway's "Missing Authentication Token" case.
 */
export function matchRoute(
  resources: readonly ApiResourceSpec[],
  method: string,
  path: string,
): RouteMatch | undefined {
  const segments = path.replace(/\/+$/, '').split('/').slice(1);
  if (segments.some((s) => s === '')) return undefined;
  let decoded: string[];
  try {
    decoded = segments.map((s) => decodeURIComponent(s));
  } catch {
    return undefined;
  }
  let best: { resource: ApiResourceSpec; params: Record<string, string>; score: number[] } | undefined;
  for (const resource of resources) {
    const parts = resource.path === '/' ? [] : resource.path.split('/').slice(1);
    const params: Record<string, string> = {};
    const score: number[] = [];
    let ok = true;
    for (let i = 0; i < parts.length && ok; i++) {
      const part = parts[i]!;
      const greedy = /^\{(.+)\+\}$/.exec(part);
      if (greedy) {
        if (i !== parts.length - 1 || i >= decoded.length) ok = false;
        else {
          params[greedy[1]!] = decoded.slice(i).join('/');
          score.push(0);
        }
        break;
      }
      if (i >= decoded.length) ok = false;
      else if (/^\{.+\}$/.test(part)) {
        params[part.slice(1, -1)] = decoded[i]!;
        score.push(1);
      } else if (part === decoded[i]) score.push(2);
      else ok = false;
    }
    const greedyEnd = parts.length > 0 && /^\{.+\+\}$/.test(parts[parts.length - 1]!);
    if (!ok || (!greedyEnd && parts.length !== decoded.length)) continue;
    if (!best || compareScores(score, best.score) > 0) best = { resource, params, score };
  }
  if (!best) return undefined;
  const m = method.toUpperCase();
  const found =
    best.resource.methods.find((x) => x.httpMethod === m) ??
    best.resource.methods.find((x) => x.httpMethod === 'ANY');
  if (!found) return undefined;
  return {
    resource: best.resource,
    method: found,
    pathParameters: Object.keys(best.params).length ? best.params : null,
  };
}

function compareScores(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? -1) - (b[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}
