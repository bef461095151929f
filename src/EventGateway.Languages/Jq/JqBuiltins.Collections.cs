namespace EventGateway.Languages.Jq;

internal static partial class JqBuiltins
{
    private static void AddCollections(Dictionary<string, JqBuiltin> t)
    {
        Fn0(t, "length", (v, _) => Length(v));
        Fn0(t, "keys", (v, _) => Keys(v, sorted: true));
        Fn0(t, "keys_unsorted", (v, _) => Keys(v, sorted: false));
        Fn1(t, "has", (v, k, _) => Has(v, k));
        Fn1(t, "in", (v, o, _) => Has(o, v));
        Fn1(t, "contains", (v, b, env) => Contains(v, b, 0, env.Run));
        Fn1(t, "inside", (v, b, env) => Contains(b, v, 0, env.Run));
        Gen(t, "map", 1, (v, a, env) => [Elements(v, "map").SelectMany(x => a[0].Values(x, env)).ToArray()]);
        Gen(t, "map_values", 1, (v, a, env) => [MapValues(v, x => FirstOrNone(a[0].Values(x, env)))]);
        Fn0(t, "to_entries", (v, _) => ToEntries(v));
        Fn0(t, "from_entries", (v, _) => FromEntries(v));
        Gen(t, "with_entries", 1, (v, a, env) =>
        {
            var entries = (object?[])ToEntries(v)!;
            return [FromEntries(entries.SelectMany(e => a[0].Values(e, env)).ToArray())];
        });
        Fn0(t, "add", (v, env) => v is null ? null : Elements(v, "add").Aggregate((object?)null, (acc, x) => JqOps.Add(acc, x, env.Run)));
        Gen(t, "add", 1, (v, a, env) => [a[0].Values(v, env).Aggregate((object?)null, (acc, x) => JqOps.Add(acc, x, env.Run))]);
        Fn0(t, "sort", (v, env) => SortBy(Array(v, "sorted"), x => x, env));
        Gen(t, "sort_by", 1, (v, a, env) => [SortBy(Array(v, "sorted"), x => KeyOf(a[0], x, env), env)]);
        Gen(t, "group_by", 1, (v, a, env) => [Groups(Array(v, "grouped"), a[0], env).Select(g => (object?)g.ToArray()).ToArray()]);
        Gen(t, "unique_by", 1, (v, a, env) => [Groups(Array(v, "grouped"), a[0], env).Select(g => g[0]).ToArray()]);
        Fn0(t, "unique", (v, env) => Groups(Array(v, "sorted"), null, env).Select(g => g[0]).ToArray());
        Fn0(t, "min", (v, env) => Extreme(Array(v, "compared"), x => x, max: false));
        Fn0(t, "max", (v, env) => Extreme(Array(v, "compared"), x => x, max: true));
        Gen(t, "min_by", 1, (v, a, env) => [Extreme(Array(v, "compared"), x => KeyOf(a[0], x, env), max: false)]);
        Gen(t, "max_by", 1, (v, a, env) => [Extreme(Array(v, "compared"), x => KeyOf(a[0], x, env), max: true)]);
        Fn0(t, "reverse", (v, _) => v switch
        {
            null => System.Array.Empty<object?>(),
            object?[] a => a.Reverse().ToArray(),
            string s => string.Concat(JqOps.Runes(s).Reverse()),
            _ => throw new JqError($"Cannot reverse {JqValues.Describe(v)}"),
        });
        Fn0(t, "flatten", (v, env) => Flatten(Array(v, "flattened"), 1e9, env, 0));
        Fn1(t, "flatten", (v, d, env) => d is double depth && depth >= 0
            ? Flatten(Array(v, "flattened"), depth, env, 0)
            : throw new JqError("flatten depth must not be negative"));
        Fn1(t, "indices", (v, i, env) => Indices(v, i, env.Run));
        Fn1(t, "index", (v, i, env) => Indices(v, i, env.Run) is object?[] { Length: > 0 } found ? found[0] : null);
        Fn1(t, "rindex", (v, i, env) => Indices(v, i, env.Run) is object?[] { Length: > 0 } found ? found[^1] : null);
        Fn0(t, "transpose", (v, _) => Transpose(v));
        Gen(t, "walk", 1, (v, a, env) => Walk(v, a[0], env, 0));
        Fn0(t, "tostream", (v, _) => throw new JqError("tostream is not supported"));
    }

    private static object? Length(object? v) => v switch
    {
        null => 0d,
        double d => Math.Abs(d),
        string s => (double)JqOps.Runes(s).Length,
        object?[] a => (double)a.Length,
        JqObject o => (double)o.Count,
        _ => throw new JqError($"{JqValues.Describe(v)} has no length"),
    };

    private static object? Keys(object? v, bool sorted) => v switch
    {
        JqObject o => (sorted ? JqValues.SortedKeys(o) : o.Keys.ToList()).Select(k => (object?)k).ToArray(),
        object?[] a => Enumerable.Range(0, a.Length).Select(i => (object?)(double)i).ToArray(),
        _ => throw new JqError($"{JqValues.Describe(v)} has no keys"),
    };

    private static bool Has(object? v, object? k) => (v, k) switch
    {
        (JqObject o, string s) => o.ContainsKey(s),
        (object?[] a, double d) => d >= 0 && d < a.Length,
        _ => throw new JqError($"Cannot check whether {JqValues.TypeName(v)} has a {JqValues.TypeName(k)} key"),
    };

    private static bool Contains(object? a, object? b, int depth, JqRun run)
    {
        JqValues.CheckDepth(depth);
        run.Tick();
        switch (a, b)
        {
            case (JqObject x, JqObject y):
                return y.All(kv => x.TryGetValue(kv.Key, out var xv) && Contains(xv, kv.Value, depth + 1, run));
            case (object?[] x, object?[] y):
                return y.All(yv => x.Any(xv => Contains(xv, yv, depth + 1, run)));
            case (string x, string y):
                return x.Contains(y, StringComparison.Ordinal);
            default:
                if (JqValues.TypeName(a) == JqValues.TypeName(b))
                {
                    return JqValues.DeepEquals(a, b);
                }

                throw new JqError($"{JqValues.Describe(a)} and {JqValues.Describe(b)} cannot have their containment checked");
        }
    }

    private static object? FirstOrNone(IEnumerable<object?> values)
    {
        foreach (var v in values)
        {
            return new StrongBox<object?>(v);
        }

        return null;
    }

    /// <summary><c>.[] |= f</c>: each value replaced by f's first output, or removed when f yields nothing.</summary>
    private static object? MapValues(object? v, Func<object?, object?> first)
    {
        switch (v)
        {
            case object?[] a:
                return a.Select(first).OfType<StrongBox<object?>>().Select(b => b.Value).ToArray();
            case JqObject o:
                var result = new JqObject(o.Count);
                foreach (var (k, x) in o)
                {
                    if (first(x) is StrongBox<object?> box)
                    {
                        result[k] = box.Value;
                    }
                }

                return result;
            default:
                throw new JqError($"Cannot iterate over {JqValues.Describe(v)}");
        }
    }

    private static object? ToEntries(object? v) => v switch
    {
        JqObject o => o.Select(kv => (object?)new JqObject { ["key"] = kv.Key, ["value"] = kv.Value }).ToArray(),
        object?[] a => a.Select((x, i) => (object?)new JqObject { ["key"] = (double)i, ["value"] = x }).ToArray(),
        _ => throw new JqError($"{JqValues.Describe(v)} has no keys"),
    };

    private static object? FromEntries(object? v)
    {
        var result = new JqObject();
        foreach (var e in Elements(v, "from_entries"))
        {
            if (e is not JqObject entry)
            {
                throw new JqError($"Cannot index {JqValues.TypeName(e)} with \"key\"");
            }

            var key = entry.GetValueOrDefault("key");
            if (key is null)
            {
                foreach (var name in (string[])["k", "name", "Name", "K", "Key"])
                {
                    key = entry.GetValueOrDefault(name);
                    if (JqValues.IsTruthy(key))
                    {
                        break;
                    }
                }
            }

            var value = entry.TryGetValue("value", out var val) ? val : entry.GetValueOrDefault("v");
            result[key as string ?? JqValues.ToJson(key)] = value;
        }

        return result;
    }

    private static object?[] Array(object? v, string what) =>
        v as object?[] ?? throw new JqError($"{JqValues.Describe(v)} cannot be {what}, as it is not an array");

    /// <summary>A sort key is all outputs of f, as jq's <c>[f]</c>.</summary>
    private static object? KeyOf(JqNode f, object? x, JqEnv env) => f.Values(x, env).ToArray();

    private static object?[] SortBy(object?[] items, Func<object?, object?> key, JqEnv env)
    {
        env.Run.Tick(items.Length);
        var keyed = items.Select(x => (Key: key(x), Item: x)).ToList();
        return keyed.OrderBy(p => p.Key, Comparer<object?>.Create(JqValues.Compare)).Select(p => p.Item).ToArray();
    }

    private static List<List<object?>> Groups(object?[] items, JqNode? f, JqEnv env)
    {
        env.Run.Tick(items.Length);
        var keyed = items.Select(x => (Key: f is null ? x : KeyOf(f, x, env), Item: x))
            .OrderBy(p => p.Key, Comparer<object?>.Create(JqValues.Compare)).ToList();
        var groups = new List<List<object?>>();
        for (var i = 0; i < keyed.Count; i++)
        {
            if (i == 0 || JqValues.Compare(keyed[i - 1].Key, keyed[i].Key) != 0)
            {
                groups.Add([]);
            }

            groups[^1].Add(keyed[i].Item);
        }

        return groups;
    }

    // jq keeps the first minimum and the last maximum.
    private static object? Extreme(object?[] items, Func<object?, object?> key, bool max)
    {
        if (items.Length == 0)
        {
            return null;
        }

        var best = items[0];
        var bestKey = key(best);
        for (var i = 1; i < items.Length; i++)
        {
            var k = key(items[i]);
            var c = JqValues.Compare(k, bestKey);
            if (max ? c >= 0 : c < 0)
            {
                best = items[i];
                bestKey = k;
            }
        }

        return best;
    }

    private static object?[] Flatten(object?[] items, double depth, JqEnv env, int level)
    {
        JqValues.CheckDepth(level);
        var result = new List<object?>();
        foreach (var x in items)
        {
            env.Run.Tick();
            if (x is object?[] inner && depth > 0)
            {
                result.AddRange(Flatten(inner, depth - 1, env, level + 1));
            }
            else
            {
                result.Add(x);
            }
        }

        return result.ToArray();
    }

    private static object? Indices(object? v, object? i, JqRun run)
    {
        switch (v, i)
        {
            case (null, _):
                return null;
            case (string s, string sub):
                if (sub.Length == 0)
                {
                    return null;
                }

                run.Tick(s.Length);
                var codepoints = new CodepointMap(s);
                var found = new List<object?>();
                for (var at = s.IndexOf(sub, StringComparison.Ordinal); at >= 0; at = s.IndexOf(sub, at + 1, StringComparison.Ordinal))
                {
                    found.Add((double)codepoints[at]);
                }

                return found.ToArray();
            case (object?[] a, object?[] sub):
                return JqOps.Indices(a, sub, run);
            case (object?[] a, _):
                return JqOps.Indices(a, [i], run);
            default:
                return JqOps.Index(v, new object?[] { i });
        }
    }

    private static object? Transpose(object? v)
    {
        var rows = Array(v, "transposed").Select(r => r as object?[] ?? throw new JqError($"Cannot transpose {JqValues.Describe(r)}")).ToList();
        var width = rows.Count == 0 ? 0 : rows.Max(r => r.Length);
        return Enumerable.Range(0, width)
            .Select(c => (object?)rows.Select(r => c < r.Length ? r[c] : null).ToArray())
            .ToArray();
    }

    private static IEnumerable<object?> Walk(object? v, JqNode f, JqEnv env, int depth)
    {
        JqValues.CheckDepth(depth);
        env.Run.Tick();
        var inner = v switch
        {
            object?[] a => a.SelectMany(x => Walk(x, f, env, depth + 1)).ToArray(),
            JqObject o => MapValues(o, x => FirstOrNone(Walk(x, f, env, depth + 1))),
            _ => v,
        };
        return f.Values(inner, env);
    }

    private sealed class StrongBox<T>(T value)
    {
        public T Value { get; } = value;
    }
}
