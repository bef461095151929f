namespace EventGateway.Languages.Jq;

/// <summary>
/// jq's builtin functions, keyed <c>name/arity</c>. Path-capable ones (select, recurse, first(f), getpath, the type
/// selectors...) pass paths through; the others compute values and refuse to be used as paths.
/// </summary>
internal static partial class JqBuiltins
{
    private static readonly Dictionary<string, JqBuiltin> Table = Build();

    public static JqBuiltin? Find(string name, int arity) => Table.GetValueOrDefault($"{name}/{arity}");

    private static Dictionary<string, JqBuiltin> Build()
    {
        var t = new Dictionary<string, JqBuiltin>(StringComparer.Ordinal);
        AddCore(t);
        AddCollections(t);
        AddPaths(t);
        AddStrings(t);
        AddRegex(t);
        AddMath(t);
        AddDates(t);
        return t;
    }

    private static IEnumerable<Out> Plain(Out input, IEnumerable<object?> values)
    {
        foreach (var v in values)
        {
            if (input.Path is not null)
            {
                throw JqError.InvalidPath(v);
            }

            yield return new Out(v, null);
        }
    }

    private static void Gen(Dictionary<string, JqBuiltin> t, string name, int arity, Func<object?, JqNode[], JqEnv, IEnumerable<object?>> f) =>
        t[$"{name}/{arity}"] = (input, args, env) => Plain(input, f(input.Value, args, env));

    private static void Fn0(Dictionary<string, JqBuiltin> t, string name, Func<object?, JqEnv, object?> f) =>
        Gen(t, name, 0, (v, _, env) => [f(v, env)]);

    private static void Fn1(Dictionary<string, JqBuiltin> t, string name, Func<object?, object?, JqEnv, object?> f) =>
        Gen(t, name, 1, (v, a, env) => a[0].Values(v, env).Select(x => f(v, x, env)));

    private static void Fn2(Dictionary<string, JqBuiltin> t, string name, Func<object?, object?, object?, JqEnv, object?> f) =>
        Gen(t, name, 2, (v, a, env) =>
            from x in a[0].Values(v, env)
            from y in a[1].Values(v, env)
            select f(v, x, y, env));

    private static void Select(Dictionary<string, JqBuiltin> t, string name, Func<object?, bool> keep) =>
        t[$"{name}/0"] = (input, _, _) => keep(input.Value) ? [input] : [];

    private static void AddCore(Dictionary<string, JqBuiltin> t)
    {
        t["empty/0"] = (_, _, _) => [];
        t["error/0"] = (input, _, _) => throw new JqError(input.Value);
        t["error/1"] = (input, args, env) => args[0].Values(input.Value, env).Select<object?, Out>(m => throw new JqError(m));
        Fn0(t, "not", (v, _) => !JqValues.IsTruthy(v));
        t["select/1"] = (input, args, env) => args[0].Values(input.Value, env).Where(JqValues.IsTruthy).Select(_ => input);
        t["recurse/0"] = (input, _, env) => RecurseNode.Recurse(input, env, 0);
        t["recurse/1"] = (input, args, env) => RecurseWith(input, args[0], null, env, 0);
        t["recurse/2"] = (input, args, env) => RecurseWith(input, args[0], args[1], env, 0);
        t["first/0"] = (input, _, _) => [JqOps.Index(input, 0d)];
        t["last/0"] = (input, _, _) => [JqOps.Index(input, -1d)];
        t["nth/1"] = (input, args, env) => args[0].Values(input.Value, env).Select(n => JqOps.Index(input, n));
        t["first/1"] = (input, args, env) => args[0].Eval(input, env).Take(1);
        t["last/1"] = (input, args, env) => Last(args[0].Eval(input, env));
        t["limit/2"] = (input, args, env) => args[0].Values(input.Value, env).SelectMany(n => n is double d
            ? d > 0 ? args[1].Eval(input, env).Take((int)Math.Min(d, int.MaxValue)) : []
            : throw new JqError($"Invalid limit {JqValues.Describe(n)}: must be a number"));
        t["nth/2"] = (input, args, env) => args[0].Values(input.Value, env).SelectMany(n => n is double d
            ? d >= 0 ? args[1].Eval(input, env).Skip((int)Math.Min(d, int.MaxValue)).Take(1) : throw new JqError("Out of bounds negative array index")
            : throw new JqError($"Cannot index with {JqValues.Describe(n)}"));
        Gen(t, "until", 2, (v, a, env) => Loop(v, env, x => !Cond(a[0], x, env), emitFirst: false, step: x => a[1].Values(x, env), emitOnStop: true));
        Gen(t, "while", 2, (v, a, env) => Loop(v, env, x => Cond(a[0], x, env), emitFirst: true, step: x => a[1].Values(x, env), emitOnStop: false));
        Gen(t, "repeat", 1, (v, a, env) => Loop(v, env, _ => true, emitFirst: true, step: x => a[0].Values(x, env), emitOnStop: false));
        Gen(t, "range", 1, (v, a, env) => a[0].Values(v, env).SelectMany(n => Range(0d, n, 1d, env)));
        Gen(t, "range", 2, (v, a, env) =>
            from f in a[0].Values(v, env)
            from u in a[1].Values(v, env)
            from x in Range(f, u, 1d, env)
            select x);
        Gen(t, "range", 3, (v, a, env) =>
            from f in a[0].Values(v, env)
            from u in a[1].Values(v, env)
            from b in a[2].Values(v, env)
            from x in Range(f, u, b, env)
            select x);
        Gen(t, "isempty", 1, (v, a, env) => [!a[0].Values(v, env).Any()]);
        Fn0(t, "any", (v, env) => Elements(v, "any").Any(JqValues.IsTruthy));
        Fn0(t, "all", (v, env) => Elements(v, "all").All(JqValues.IsTruthy));
        Gen(t, "any", 1, (v, a, env) => [Elements(v, "any").SelectMany(x => a[0].Values(x, env)).Any(JqValues.IsTruthy)]);
        Gen(t, "all", 1, (v, a, env) => [Elements(v, "all").SelectMany(x => a[0].Values(x, env)).All(JqValues.IsTruthy)]);
        Gen(t, "any", 2, (v, a, env) => [a[0].Values(v, env).SelectMany(x => a[1].Values(x, env)).Any(JqValues.IsTruthy)]);
        Gen(t, "all", 2, (v, a, env) => [a[0].Values(v, env).SelectMany(x => a[1].Values(x, env)).All(JqValues.IsTruthy)]);
        Gen(t, "IN", 1, (v, a, env) => [a[0].Values(v, env).Any(x => JqValues.DeepEquals(x, v))]);
        Gen(t, "IN", 2, (v, a, env) =>
        {
            var set = a[1].Values(v, env).ToList();
            return [a[0].Values(v, env).Any(x =>
            {
                env.Run.Tick(set.Count);
                return set.Any(y => JqValues.DeepEquals(x, y));
            })];
        });
        t["input/0"] = (_, _, _) => throw new JqError("No more inputs");
        t["inputs/0"] = (_, _, _) => [];
        t["debug/0"] = (input, _, _) => [input];
        t["debug/1"] = (input, _, _) => [input];
        t["stderr/0"] = (input, _, _) => [input];
        Fn0(t, "input_filename", (_, _) => null);
        Fn0(t, "input_line_number", (_, _) => 0d);
        // The gateway's process environment holds secrets: transforms see an empty environment.
        Fn0(t, "env", (_, _) => new JqObject());
        Fn0(t, "type", (v, _) => JqValues.TypeName(v));
        Fn0(t, "tojson", (v, _) => JqValues.ToJson(v));
        Fn0(t, "fromjson", (v, _) => FromJson(v));
        Fn0(t, "tostring", (v, _) => JqValues.ToText(v));
        Fn0(t, "tonumber", (v, _) => ToNumber(v));
        Fn0(t, "toarray", (v, _) => v is object?[] ? v : new[] { v });
        Fn0(t, "infinite", (_, _) => double.PositiveInfinity);
        Fn0(t, "nan", (_, _) => double.NaN);
        Fn0(t, "isinfinite", (v, _) => double.IsInfinity(Number(v, "isinfinite")));
        Fn0(t, "isnan", (v, _) => double.IsNaN(Number(v, "isnan")));
        Fn0(t, "isnormal", (v, _) => double.IsNormal(Number(v, "isnormal")));
        Fn0(t, "isvalid", (v, _) => true);
        Select(t, "values", v => v is not null);
        Select(t, "nulls", v => v is null);
        Select(t, "booleans", v => v is bool);
        Select(t, "numbers", v => v is double);
        Select(t, "normals", v => v is double d && double.IsNormal(d));
        Select(t, "finites", v => v is double d && double.IsFinite(d));
        Select(t, "strings", v => v is string);
        Select(t, "arrays", v => v is object?[]);
        Select(t, "objects", v => v is JqObject);
        Select(t, "iterables", v => v is object?[] or JqObject);
        Select(t, "scalars", v => v is not (object?[] or JqObject));
    }

    private static IEnumerable<Out> RecurseWith(Out input, JqNode f, JqNode? cond, JqEnv env, int depth)
    {
        JqValues.CheckDepth(depth);
        yield return input;
        foreach (var child in f.Eval(input, env))
        {
            if (cond is not null && !Cond(cond, child.Value, env))
            {
                continue;
            }

            foreach (var o in RecurseWith(child, f, cond, env, depth + 1))
            {
                yield return o;
            }
        }
    }

    private static IEnumerable<Out> Last(IEnumerable<Out> outputs)
    {
        Out? last = null;
        foreach (var o in outputs)
        {
            last = o;
        }

        return last is { } l ? [l] : [];
    }

    /// <summary>First output of a condition (jq branches on every output; one is what programs mean).</summary>
    private static bool Cond(JqNode cond, object? v, JqEnv env)
    {
        foreach (var c in cond.Values(v, env))
        {
            return JqValues.IsTruthy(c);
        }

        return false;
    }

    /// <summary>
    /// until/while/repeat without recursion (long loops would overflow the stack): a value is emitted and/or
    /// expanded by <paramref name="step"/>, depth first, as jq's recursive definitions do.
    /// </summary>
    private static IEnumerable<object?> Loop(object? start, JqEnv env, Func<object?, bool> go, bool emitFirst, Func<object?, IEnumerable<object?>> step, bool emitOnStop)
    {
        var stack = new Stack<IEnumerator<object?>>();
        stack.Push(((IEnumerable<object?>)[start]).GetEnumerator());
        try
        {
            while (stack.Count > 0)
            {
                var top = stack.Peek();
                if (!top.MoveNext())
                {
                    stack.Pop().Dispose();
                    continue;
                }

                var v = top.Current;
                env.Run.Tick();
                if (go(v))
                {
                    if (emitFirst)
                    {
                        yield return v;
                    }

                    stack.Push(step(v).GetEnumerator());
                }
                else if (emitOnStop)
                {
                    yield return v;
                }
            }
        }
        finally
        {
            while (stack.Count > 0)
            {
                stack.Pop().Dispose();
            }
        }
    }

    private static IEnumerable<object?> Range(object? from, object? upto, object? by, JqEnv env)
    {
        if (from is not double f || upto is not double u || by is not double b)
        {
            throw new JqError("Range bounds must be numeric");
        }

        if (b > 0)
        {
            for (var x = f; x < u; x += b)
            {
                env.Run.Tick();
                yield return x;
            }
        }
        else if (b < 0)
        {
            for (var x = f; x > u; x += b)
            {
                env.Run.Tick();
                yield return x;
            }
        }
    }

    private static IEnumerable<object?> Elements(object? v, string what) => v switch
    {
        object?[] a => a,
        JqObject o => o.Values,
        _ => throw new JqError($"Cannot iterate over {JqValues.Describe(v)} in {what}"),
    };

    private static double Number(object? v, string what) =>
        v as double? ?? throw new JqError($"{JqValues.Describe(v)} number required by {what}");

    private static object? FromJson(object? v)
    {
        if (v is not string s)
        {
            throw new JqError($"{JqValues.Describe(v)} cannot be parsed as JSON, only a string can");
        }

        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(s, new System.Text.Json.JsonDocumentOptions { MaxDepth = JqValues.MaxDepth });
            return JqValues.FromElement(doc.RootElement);
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new JqError($"{s} (while parsing '{s}'): {e.Message}");
        }
    }

    private static object? ToNumber(object? v)
    {
        switch (v)
        {
            case double:
                return v;
            case string s when double.TryParse(s, System.Globalization.NumberStyles.AllowLeadingSign | System.Globalization.NumberStyles.AllowDecimalPoint
                | System.Globalization.NumberStyles.AllowExponent, System.Globalization.CultureInfo.InvariantCulture, out var d):
                return d;
            case string s:
                throw new JqError($"Cannot parse '{s}' as JSON");
            default:
                throw new JqError($"{JqValues.Describe(v)} cannot be parsed as a number");
        }
    }
}
