using System.Collections.Frozen;
using System.Globalization;
using EventGateway.Languages.Expr;

namespace EventGateway.Languages.GoTemplates;

/// <summary>Go parameter types that decide how text/template converts an argument (its validateType rules).</summary>
internal enum Param
{
    /// <summary>interface{}: anything; a missing value arrives as nil.</summary>
    Any,

    /// <summary>reflect.Value, used by Go's own builtins: the raw value, missing included.</summary>
    Raw,
    String,
    Int,
    Float,
    Map,
}

/// <summary>A template function with Go's signature: fixed parameters plus an optional variadic tail.</summary>
internal sealed record GoTemplateFunction(string Name, Param[] Params, Param? Variadic, Func<object?[], object?> Body);

/// <summary>Go's predefined template functions plus the sprig functions Argo Events sensors use.</summary>
internal static class GoTemplateFunctions
{
    private static readonly Param[] S1 = [Param.String];
    private static readonly Param[] S2 = [Param.String, Param.String];
    private static readonly Param[] S3 = [Param.String, Param.String, Param.String];
    private static readonly Param[] A1 = [Param.Any];

    private static readonly FrozenDictionary<string, GoTemplateFunction> Table = new GoTemplateFunction[]
    {
        // Go builtins. and/or/not/eq.. take raw values; and/or short-circuit in the executor.
        new("and", [Param.Raw], Param.Raw, _ => null),
        new("or", [Param.Raw], Param.Raw, _ => null),
        new("not", [Param.Raw], null, a => !GoTemplateValues.IsTrue(a[0])),
        new("eq", [Param.Raw], Param.Raw, a => Compare.Eq(a)),
        new("ne", [Param.Raw, Param.Raw], null, a => !Compare.Eq(a)),
        new("lt", [Param.Raw, Param.Raw], null, a => Compare.Order(a[0], a[1]) < 0),
        new("le", [Param.Raw, Param.Raw], null, a => Compare.Order(a[0], a[1]) <= 0),
        new("gt", [Param.Raw, Param.Raw], null, a => Compare.Order(a[0], a[1]) > 0),
        new("ge", [Param.Raw, Param.Raw], null, a => Compare.Order(a[0], a[1]) >= 0),
        new("len", [Param.Raw], null, a => Len(a[0])),
        new("index", [Param.Raw], Param.Raw, Index),
        new("print", [], Param.Any, a => GoTemplateValues.Sprint(a)),
        new("println", [], Param.Any, a => GoTemplateValues.Sprintln(a)),
        new("printf", [Param.String], Param.Any, a => GoPrintf.Format((string)a[0]!, a[1..])),

        // sprig: the piped value is the last parameter.
        Sprig("upper", S1), Sprig("lower", S1), Sprig("title", S1), Sprig("trim", S1),
        Sprig("trimPrefix", S2), Sprig("trimSuffix", S2), Sprig("replace", S3),
        Sprig("contains", S2), Sprig("hasPrefix", S2), Sprig("hasSuffix", S2),
        Sprig("splitList", S2),
        new("split", S2, null, a => Builtins.Split((string)a[1]!, (string)a[0]!, -1)
            .Select((part, i) => (Key: "_" + i.ToString(CultureInfo.InvariantCulture), Part: part))
            .ToDictionary(p => p.Key, p => p.Part, StringComparer.Ordinal)),
        Sprig("join", [Param.String, Param.Any]),
        Sprig("default", A1, Param.Any), Sprig("empty", A1),
        Sprig("quote", [], Param.Any), Sprig("squote", [], Param.Any),
        Sprig("toJson", A1), Sprig("toString", A1),
        Sprig("int", A1), Sprig("int64", A1), Sprig("float64", A1), Sprig("atoi", S1),
        Sprig("add", [], Param.Any), Sprig("sub", [Param.Any, Param.Any]), Sprig("mul", A1, Param.Any),
        new("div", [Param.Any, Param.Any], null, a => IntDivide(a, (x, y) => x / y)),
        new("mod", [Param.Any, Param.Any], null, a => IntDivide(a, (x, y) => x % y)),
        Sprig("b64enc", S1), Sprig("b64dec", S1), Sprig("sha256sum", S1),
        Sprig("substr", [Param.Int, Param.Int, Param.String]), Sprig("trunc", [Param.Int, Param.String]),
        Sprig("regexMatch", S2), Sprig("regexFind", S2), Sprig("regexReplaceAll", S3),
        Sprig("list", [], Param.Any), Sprig("dict", [], Param.Any),
        new("get", [Param.Map, Param.String], null, a =>
            a[0] is IReadOnlyDictionary<string, object?> m && m.TryGetValue((string)a[1]!, out var v) ? v : string.Empty),
        new("keys", [], Param.Map, a => a.OfType<IReadOnlyDictionary<string, object?>>()
            .SelectMany(m => m.Keys).Order(StringComparer.Ordinal).Cast<object?>().ToList()),
        Sprig("first", A1), Sprig("last", A1),
    }.ToFrozenDictionary(f => f.Name, StringComparer.Ordinal);

    public static bool Exists(string name) => Table.ContainsKey(name);

    public static GoTemplateFunction Get(string name) => Table[name];

    /// <summary>Delegates the body to the shared sprig implementation; its failures become call errors.</summary>
    private static GoTemplateFunction Sprig(string name, Param[] parameters, Param? variadic = null)
    {
        if (!SprigFunctions.TryGet(name, out var builtin))
        {
            throw new InvalidOperationException($"sprig function {name} is missing from SprigFunctions");
        }

        return new GoTemplateFunction(name, parameters, variadic, builtin.Invoke);
    }

    private static long IntDivide(object?[] a, Func<long, long, long> op)
    {
        var divisor = SprigFunctions.ToInt64(a[1]);
        return divisor == 0
            ? throw new GoTemplateError("runtime error: integer divide by zero")
            : op(SprigFunctions.ToInt64(a[0]), divisor);
    }

    private static long Len(object? value) => value switch
    {
        string s => System.Text.Encoding.UTF8.GetByteCount(s),
        IReadOnlyDictionary<string, object?> m => m.Count,
        IReadOnlyList<object?> l => l.Count,
        null or Missing => throw new GoTemplateError("len of nil pointer"),
        _ => throw new GoTemplateError($"len of type {GoTemplateValues.GoType(value)}"),
    };

    private static object? Index(object?[] args)
    {
        var item = args[0];
        if (item is null or Missing)
        {
            throw new GoTemplateError("index of untyped nil");
        }

        foreach (var key in args.Skip(1))
        {
            switch (item)
            {
                case IReadOnlyList<object?> list:
                    if (key is not long i)
                    {
                        throw new GoTemplateError($"cannot index slice/array with type {GoTemplateValues.GoType(key)}");
                    }

                    item = i >= 0 && i < list.Count ? list[(int)i] : throw new GoTemplateError($"index out of range: {i}");
                    break;
                case IReadOnlyDictionary<string, object?> map:
                    item = key is string k
                        ? map.GetValueOrDefault(k)
                        : throw new GoTemplateError($"value has type {GoTemplateValues.GoType(key)}; should be string");
                    break;
                case null:
                    throw new GoTemplateError("index of nil pointer");
                default:
                    throw new GoTemplateError($"can't index item of type {GoTemplateValues.GoType(item)}");
            }
        }

        return item;
    }
}
