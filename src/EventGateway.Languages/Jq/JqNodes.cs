namespace EventGateway.Languages.Jq;

/// <summary>
/// A node of a parsed jq program. <see cref="Eval"/> yields outputs lazily (jq is a generator language); when
/// the input carries a path, the node is being evaluated as a path expression (for assignment, <c>path</c>,
/// <c>del</c>) and must carry paths through or fail with "Invalid path expression".
/// </summary>
internal abstract class JqNode(int pos)
{
    public int Pos { get; } = pos;

    public abstract IEnumerable<Out> Eval(Out input, JqEnv env);

    /// <summary>Plain values, no path tracking: how arguments, conditions and keys are evaluated.</summary>
    public IEnumerable<object?> Values(object? input, JqEnv env)
    {
        foreach (var o in Eval(new Out(input, null), env))
        {
            yield return o.Value;
        }
    }

    /// <summary>The paths this expression designates in <paramref name="input"/>, e.g. for <c>.a[] |= f</c>.</summary>
    public List<object?[]> Paths(object? input, JqEnv env)
    {
        var paths = new List<object?[]>();
        foreach (var o in Eval(new Out(input, JqPath.Root), env))
        {
            env.Run.Tick();
            paths.Add(o.Path!.ToArray());
        }

        return paths;
    }
}

/// <summary>A node that computes new values: it cannot appear where a path is expected.</summary>
internal abstract class ValueNode(int pos) : JqNode(pos)
{
    public sealed override IEnumerable<Out> Eval(Out input, JqEnv env)
    {
        foreach (var v in Produce(input.Value, env))
        {
            if (input.Path is not null)
            {
                throw JqError.InvalidPath(v);
            }

            yield return new Out(v, null);
        }
    }

    protected abstract IEnumerable<object?> Produce(object? input, JqEnv env);
}

internal sealed class IdentityNode(int pos) : JqNode(pos)
{
    public override IEnumerable<Out> Eval(Out input, JqEnv env)
    {
        yield return input;
    }
}

internal sealed class LiteralNode(int pos, object? value) : ValueNode(pos)
{
    public object? Value { get; } = value;

    protected override IEnumerable<object?> Produce(object? input, JqEnv env)
    {
        yield return Value;
    }
}

internal sealed class VarNode(int pos, string name) : ValueNode(pos)
{
    protected override IEnumerable<object?> Produce(object? input, JqEnv env)
    {
        yield return env.Var(name);
    }
}

/// <summary><c>t[k]</c>, <c>t.k</c>: the key is evaluated against the same input as the target, as in jq.</summary>
internal sealed class IndexNode(int pos, JqNode target, JqNode key) : JqNode(pos)
{
    public override IEnumerable<Out> Eval(Out input, JqEnv env)
    {
        if (key is LiteralNode literal)
        {
            foreach (var t in target.Eval(input, env))
            {
                yield return JqOps.Index(t, literal.Value);
            }

            yield break;
        }

        foreach (var k in key.Values(input.Value, env))
        {
            foreach (var t in target.Eval(input, env))
            {
                yield return JqOps.Index(t, k);
            }
        }
    }
}

internal sealed class SliceNode(int pos, JqNode target, JqNode? from, JqNode? to) : JqNode(pos)
{
    public override IEnumerable<Out> Eval(Out input, JqEnv env)
    {
        foreach (var t in to is null ? [null] : to.Values(input.Value, env))
        {
            foreach (var f in from is null ? [null] : from.Values(input.Value, env))
            {
                foreach (var x in target.Eval(input, env))
                {
                    yield return JqOps.Index(x, JqOps.SliceKey(f, t));
                }
            }
        }
    }
}

/// <summary><c>.[]</c>: the values of an array or object.</summary>
internal sealed class IterateNode(int pos, JqNode target) : JqNode(pos)
{
    public override IEnumerable<Out> Eval(Out input, JqEnv env)
    {
        foreach (var t in target.Eval(input, env))
        {
            foreach (var o in Iterate(t, env))
            {
                yield return o;
            }
        }
    }

    public static IEnumerable<Out> Iterate(Out t, JqEnv env)
    {
        switch (t.Value)
        {
            case object?[] a:
                for (var i = 0; i < a.Length; i++)
                {
                    env.Run.Tick();
                    yield return new Out(a[i], t.Path?.Add((double)i));
                }

                break;
            case JqObject o:
                foreach (var (k, v) in o)
                {
                    env.Run.Tick();
                    yield return new Out(v, t.Path?.Add(k));
                }

                break;
            default:
                throw new JqError(t.Value is null ? "Cannot iterate over null" : $"Cannot iterate over {JqValues.Describe(t.Value)}");
        }
    }
}

/// <summary><c>..</c>: the input and everything below it, depth first.</summary>
internal sealed class RecurseNode(int pos) : JqNode(pos)
{
    public override IEnumerable<Out> Eval(Out input, JqEnv env) => Recurse(input, env, 0);

    public static IEnumerable<Out> Recurse(Out input, JqEnv env, int depth)
    {
        JqValues.CheckDepth(depth);
        yield return input;
        if (input.Value is object?[] or JqObject)
        {
            foreach (var child in IterateNode.Iterate(input, env))
            {
                foreach (var o in Recurse(child, env, depth + 1))
                {
                    yield return o;
                }
            }
        }
    }
}

internal sealed class PipeNode(int pos, JqNode left, JqNode right) : JqNode(pos)
{
    public override IEnumerable<Out> Eval(Out input, JqEnv env)
    {
        foreach (var l in left.Eval(input, env))
        {
            env.Run.Tick();
            foreach (var r in right.Eval(l, env))
            {
                yield return r;
            }
        }
    }
}

internal sealed class CommaNode(int pos, JqNode left, JqNode right) : JqNode(pos)
{
    public override IEnumerable<Out> Eval(Out input, JqEnv env) => left.Eval(input, env).Concat(right.Eval(input, env));
}

internal sealed class NegateNode(int pos, JqNode operand) : ValueNode(pos)
{
    protected override IEnumerable<object?> Produce(object? input, JqEnv env)
    {
        foreach (var v in operand.Values(input, env))
        {
            yield return v is double d ? -d : throw new JqError($"{JqValues.Describe(v)} cannot be negated");
        }
    }
}

/// <summary>Arithmetic and comparison. As in jq the right operand is the outer loop: <c>(1,2) + (10,20)</c> is 11, 12, 21, 22.</summary>
internal sealed class BinaryNode(int pos, string op, JqNode left, JqNode right) : ValueNode(pos)
{
    protected override IEnumerable<object?> Produce(object? input, JqEnv env)
    {
        foreach (var r in right.Values(input, env))
        {
            foreach (var l in left.Values(input, env))
            {
                yield return Apply(op, l, r, env.Run);
            }
        }
    }

    public static object? Apply(string op, object? l, object? r, JqRun run) => op switch
    {
        "+" => JqOps.Add(l, r, run),
        "-" => JqOps.Subtract(l, r, run),
        "*" => JqOps.Multiply(l, r, run),
        "/" => JqOps.Divide(l, r, run),
        "%" => JqOps.Modulo(l, r),
        "==" => JqValues.DeepEquals(l, r),
        "!=" => !JqValues.DeepEquals(l, r),
        "<" => JqValues.Compare(l, r) < 0,
        "<=" => JqValues.Compare(l, r) <= 0,
        ">" => JqValues.Compare(l, r) > 0,
        ">=" => JqValues.Compare(l, r) >= 0,
        _ => throw new InvalidOperationException($"unknown operator {op}"),
    };
}

internal sealed class AndOrNode(int pos, bool isAnd, JqNode left, JqNode right) : ValueNode(pos)
{
    protected override IEnumerable<object?> Produce(object? input, JqEnv env)
    {
        foreach (var l in left.Values(input, env))
        {
            var lt = JqValues.IsTruthy(l);
            if (isAnd ? !lt : lt)
            {
                yield return lt;
                continue;
            }

            foreach (var r in right.Values(input, env))
            {
                yield return JqValues.IsTruthy(r);
            }
        }
    }
}

/// <summary><c>a // b</c>: the truthy outputs of a (its errors ignored), or else the outputs of b.</summary>
internal sealed class AlternativeNode(int pos, JqNode left, JqNode right) : JqNode(pos)
{
    public override IEnumerable<Out> Eval(Out input, JqEnv env)
    {
        var any = false;
        using (var e = left.Eval(input, env).GetEnumerator())
        {
            while (true)
            {
                Out current;
                try
                {
                    if (!e.MoveNext())
                    {
                        break;
                    }

                    current = e.Current;
                }
                catch (JqError)
                {
                    break;
                }

                if (JqValues.IsTruthy(current.Value))
                {
                    any = true;
                    yield return current;
                }
            }
        }

        if (!any)
        {
            foreach (var o in right.Eval(input, env))
            {
                yield return o;
            }
        }
    }
}

internal sealed class IfNode(int pos, JqNode condition, JqNode then, JqNode? otherwise) : JqNode(pos)
{
    public override IEnumerable<Out> Eval(Out input, JqEnv env)
    {
        foreach (var c in condition.Values(input.Value, env))
        {
            if (JqValues.IsTruthy(c))
            {
                foreach (var o in then.Eval(input, env))
                {
                    yield return o;
                }
            }
            else if (otherwise is null)
            {
                yield return input;
            }
            else
            {
                foreach (var o in otherwise.Eval(input, env))
                {
                    yield return o;
                }
            }
        }
    }
}

/// <summary><c>try body catch handler</c> and postfix <c>?</c>: errors raised by the body (not by later consumers) stop it.</summary>
internal sealed class TryNode(int pos, JqNode body, JqNode? handler) : JqNode(pos)
{
    public override IEnumerable<Out> Eval(Out input, JqEnv env)
    {
        object? caught = null;
        var failed = false;
        using (var e = body.Eval(input, env).GetEnumerator())
        {
            while (true)
            {
                Out current;
                try
                {
                    if (!e.MoveNext())
                    {
                        break;
                    }

                    current = e.Current;
                }
                catch (JqError error)
                {
                    caught = error.Value;
                    failed = true;
                    break;
                }

                yield return current;
            }
        }

        if (failed && handler is not null)
        {
            foreach (var v in handler.Values(caught, env))
            {
                if (input.Path is not null)
                {
                    throw JqError.InvalidPath(v);
                }

                yield return new Out(v, null);
            }
        }
    }
}

internal sealed class ArrayNode(int pos, JqNode? body) : ValueNode(pos)
{
    protected override IEnumerable<object?> Produce(object? input, JqEnv env)
    {
        if (body is null)
        {
            yield return Array.Empty<object?>();
            yield break;
        }

        var items = new List<object?>();
        foreach (var v in body.Values(input, env))
        {
            env.Run.Tick();
            items.Add(v);
        }

        yield return items.ToArray();
    }
}

/// <summary><c>{k: v, ...}</c>: one object per combination of key and value outputs.</summary>
internal sealed class ObjectNode(int pos, IReadOnlyList<(JqNode Key, JqNode Value)> entries) : ValueNode(pos)
{
    protected override IEnumerable<object?> Produce(object? input, JqEnv env) => Build(input, env, 0, new JqObject(entries.Count));

    private IEnumerable<object?> Build(object? input, JqEnv env, int i, JqObject partial)
    {
        if (i == entries.Count)
        {
            yield return partial;
            yield break;
        }

        var (keyNode, valueNode) = entries[i];
        foreach (var k in keyNode.Values(input, env))
        {
            if (k is not string key)
            {
                throw new JqError($"Object keys must be strings, not {JqValues.Describe(k)}");
            }

            foreach (var v in valueNode.Values(input, env))
            {
                env.Run.Tick();
                var next = new JqObject(partial) { [key] = v };
                foreach (var o in Build(input, env, i + 1, next))
                {
                    yield return o;
                }
            }
        }
    }
}

/// <summary>A string with <c>\(...)</c> parts, optionally under a format such as <c>@base64 "..."</c>.</summary>
internal sealed class InterpolationNode(int pos, IReadOnlyList<object> parts, string? format) : ValueNode(pos)
{
    protected override IEnumerable<object?> Produce(object? input, JqEnv env) => Build(input, env, parts.Count - 1, string.Empty);

    // Like jq, the last interpolation is the outer loop.
    private IEnumerable<object?> Build(object? input, JqEnv env, int i, string suffix)
    {
        if (i < 0)
        {
            yield return suffix;
            yield break;
        }

        if (parts[i] is string literal)
        {
            foreach (var s in Build(input, env, i - 1, literal + suffix))
            {
                yield return s;
            }

            yield break;
        }

        foreach (var v in ((JqNode)parts[i]).Values(input, env))
        {
            var text = format is null ? JqValues.ToText(v) : JqFormats.Apply(format, v);
            env.Run.Tick(text.Length + suffix.Length);
            foreach (var s in Build(input, env, i - 1, text + suffix))
            {
                yield return s;
            }
        }
    }
}

/// <summary><c>@base64</c> and friends applied to the input.</summary>
internal sealed class FormatNode(int pos, string format) : ValueNode(pos)
{
    protected override IEnumerable<object?> Produce(object? input, JqEnv env)
    {
        yield return JqFormats.Apply(format, input);
    }
}

/// <summary>Destructuring target of <c>as</c>, <c>reduce</c> and <c>foreach</c>.</summary>
internal abstract record JqPattern
{
    public abstract IEnumerable<string> Variables();
}

internal sealed record VarPattern(string Name) : JqPattern
{
    public override IEnumerable<string> Variables() => [Name];
}

internal sealed record ArrayPattern(IReadOnlyList<JqPattern> Items) : JqPattern
{
    public override IEnumerable<string> Variables() => Items.SelectMany(i => i.Variables());
}

/// <summary>Entries are <c>$name</c> (optionally <c>$name: pattern</c>) or <c>key: pattern</c>, the key an expression.</summary>
internal sealed record ObjectPattern(IReadOnlyList<(string? Var, JqNode? Key, JqPattern? Value)> Entries) : JqPattern
{
    public override IEnumerable<string> Variables() =>
        Entries.SelectMany(e => (e.Var is null ? [] : new[] { e.Var }).Concat(e.Value?.Variables() ?? []));
}

internal static class JqBinder
{
    public static IEnumerable<JqEnv> Bind(JqPattern pattern, object? value, JqEnv env, object? dot)
    {
        switch (pattern)
        {
            case VarPattern v:
                return [env.BindVar(v.Name, value)];
            case ArrayPattern a:
                return BindItems(a, 0, value, env, dot);
            case ObjectPattern o:
                return BindEntries(o, 0, value, env, dot);
            default:
                throw new InvalidOperationException("unknown pattern");
        }
    }

    private static IEnumerable<JqEnv> BindItems(ArrayPattern a, int i, object? value, JqEnv env, object? dot)
    {
        if (i == a.Items.Count)
        {
            yield return env;
            yield break;
        }

        if (value is not (null or object?[]))
        {
            throw new JqError($"Cannot index {JqValues.TypeName(value)} with number");
        }

        foreach (var e1 in Bind(a.Items[i], JqOps.Index(value, (double)i), env, dot))
        {
            foreach (var e2 in BindItems(a, i + 1, value, e1, dot))
            {
                yield return e2;
            }
        }
    }

    private static IEnumerable<JqEnv> BindEntries(ObjectPattern o, int i, object? value, JqEnv env, object? dot)
    {
        if (i == o.Entries.Count)
        {
            yield return env;
            yield break;
        }

        var (name, key, sub) = o.Entries[i];
        foreach (var k in key is null ? [name] : key.Values(dot, env))
        {
            if (k is not string ks)
            {
                throw new JqError($"Cannot index {JqValues.TypeName(value)} with {JqValues.TypeName(k)}");
            }

            if (value is not (null or JqObject))
            {
                throw new JqError($"Cannot index {JqValues.TypeName(value)} with \"{ks}\"");
            }

            var field = JqOps.Index(value, ks);
            var bound = name is null ? env : env.BindVar(name, field);
            foreach (var e1 in sub is null ? [bound] : Bind(sub, field, bound, dot))
            {
                foreach (var e2 in BindEntries(o, i + 1, value, e1, dot))
                {
                    yield return e2;
                }
            }
        }
    }
}

/// <summary><c>source as $x | body</c>: body runs on the original input, in whatever mode (value or path) the caller asked.</summary>
internal sealed class AsNode(int pos, JqNode source, JqPattern pattern, JqNode body) : JqNode(pos)
{
    public override IEnumerable<Out> Eval(Out input, JqEnv env)
    {
        foreach (var v in source.Values(input.Value, env))
        {
            foreach (var bound in JqBinder.Bind(pattern, v, env, input.Value))
            {
                foreach (var o in body.Eval(input, bound))
                {
                    yield return o;
                }
            }
        }
    }
}

internal sealed class ReduceNode(int pos, JqNode source, JqPattern pattern, JqNode init, JqNode update) : ValueNode(pos)
{
    protected override IEnumerable<object?> Produce(object? input, JqEnv env)
    {
        foreach (var start in init.Values(input, env))
        {
            var acc = start;
            foreach (var v in source.Values(input, env))
            {
                foreach (var bound in JqBinder.Bind(pattern, v, env, input))
                {
                    env.Run.Tick();
                    object? last = null;
                    foreach (var u in update.Values(acc, bound))
                    {
                        last = u;
                    }

                    acc = last;
                }
            }

            yield return acc;
        }
    }
}

internal sealed class ForeachNode(int pos, JqNode source, JqPattern pattern, JqNode init, JqNode update, JqNode? extract) : ValueNode(pos)
{
    protected override IEnumerable<object?> Produce(object? input, JqEnv env)
    {
        foreach (var start in init.Values(input, env))
        {
            var acc = start;
            foreach (var v in source.Values(input, env))
            {
                foreach (var bound in JqBinder.Bind(pattern, v, env, input))
                {
                    env.Run.Tick();
                    foreach (var u in update.Values(acc, bound))
                    {
                        acc = u;
                        if (extract is null)
                        {
                            yield return u;
                        }
                        else
                        {
                            foreach (var x in extract.Values(u, bound))
                            {
                                yield return x;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// <summary><c>def f: body; rest</c>.</summary>
internal sealed class FunctionDefNode(int pos, JqFunction function, JqNode rest) : JqNode(pos)
{
    public override IEnumerable<Out> Eval(Out input, JqEnv env) => rest.Eval(input, env.BindFunction(function));
}

/// <summary>A call to a user function or to a closure parameter, found in the environment at run time.</summary>
internal sealed class UserCallNode(int pos, string name, IReadOnlyList<JqNode> args) : JqNode(pos)
{
    public override IEnumerable<Out> Eval(Out input, JqEnv env)
    {
        var run = env.Run;
        run.Tick();
        var (function, scope, closureBody, closureEnv) = env.Function(name, args.Count);
        if (++run.CallDepth > JqRun.MaxCallDepth)
        {
            run.CallDepth--;
            throw new TransformException($"jq function calls nested deeper than {JqRun.MaxCallDepth} levels (runaway recursion in {name}/{args.Count}?)");
        }

        try
        {
            var outputs = function is null ? closureBody!.Eval(input, closureEnv!) : Call(function, scope, input, env, 0, scope);
            foreach (var o in outputs)
            {
                yield return o;
            }
        }
        finally
        {
            run.CallDepth--;
        }
    }

    // Value parameters ($p) are evaluated in the caller's environment, the first parameter being the outer loop.
    private IEnumerable<Out> Call(JqFunction f, JqEnv scope, Out input, JqEnv caller, int i, JqEnv bodyEnv)
    {
        if (i == f.Params.Count)
        {
            foreach (var o in f.Body.Eval(input, bodyEnv))
            {
                yield return o;
            }

            yield break;
        }

        var (param, isValue) = f.Params[i];
        if (!isValue)
        {
            foreach (var o in Call(f, scope, input, caller, i + 1, bodyEnv.BindClosure(param, args[i], caller)))
            {
                yield return o;
            }

            yield break;
        }

        foreach (var v in args[i].Values(input.Value, caller))
        {
            var bound = bodyEnv.BindVar(param, v).BindClosure(param, new LiteralNode(args[i].Pos, v), caller);
            foreach (var o in Call(f, scope, input, caller, i + 1, bound))
            {
                yield return o;
            }
        }
    }
}

internal delegate IEnumerable<Out> JqBuiltin(Out input, JqNode[] args, JqEnv env);

internal sealed class BuiltinCallNode(int pos, string name, JqBuiltin builtin, JqNode[] args) : JqNode(pos)
{
    public string Name { get; } = name;

    // An iterator, so that a builtin failing before its first output fails inside MoveNext, where try/catch sees it.
    public override IEnumerable<Out> Eval(Out input, JqEnv env)
    {
        env.Run.Tick();
        foreach (var o in builtin(input, args, env))
        {
            yield return o;
        }
    }
}

/// <summary>
/// <c>lhs = rhs</c>, <c>lhs |= f</c>, <c>lhs op= rhs</c> and <c>lhs //= rhs</c>. The paths of lhs are taken from the
/// input first; rhs (except for <c>|=</c>) is evaluated against the input, one result per rhs output.
/// </summary>
internal sealed class AssignNode(int pos, string op, JqNode lhs, JqNode rhs) : ValueNode(pos)
{
    protected override IEnumerable<object?> Produce(object? input, JqEnv env)
    {
        if (op == "|=")
        {
            yield return Update(input, env);
            yield break;
        }

        foreach (var v in rhs.Values(input, env))
        {
            var paths = lhs.Paths(input, env);
            var fresh = new HashSet<object>(ReferenceEqualityComparer.Instance);
            var result = input;
            foreach (var p in paths)
            {
                var value = op switch
                {
                    "=" => v,
                    "//=" => JqOps.GetPath(result, p) is var cur && JqValues.IsTruthy(cur) ? cur : v,
                    _ => BinaryNode.Apply(op[..^1], JqOps.GetPath(result, p), v, env.Run),
                };
                result = JqOps.SetPath(result, p, 0, value, fresh, env.Run);
            }

            yield return result;
        }
    }

    // The first output of f replaces the value; no output deletes the path (jq 1.7). Deletions happen last so
    // they do not shift the array indexes of the paths still to update.
    private object? Update(object? input, JqEnv env)
    {
        var paths = lhs.Paths(input, env);
        var fresh = new HashSet<object>(ReferenceEqualityComparer.Instance);
        var deletions = new List<object?[]>();
        var result = input;
        foreach (var p in paths)
        {
            var current = JqOps.GetPath(result, p);
            if (current is not null && fresh.Contains(current))
            {
                // f may return this very container inside its result: stop treating anything as unshared.
                fresh.Clear();
            }

            var replaced = false;
            foreach (var v in rhs.Values(current, env))
            {
                result = JqOps.SetPath(result, p, 0, v, fresh, env.Run);
                replaced = true;
                break;
            }

            if (!replaced)
            {
                deletions.Add(p);
            }
        }

        return deletions.Count == 0 ? result : JqOps.DelPaths(result, deletions, env.Run);
    }
}
