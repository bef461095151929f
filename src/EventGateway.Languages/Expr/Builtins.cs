using System.Collections.Frozen;
using System.Globalization;
using System.Text;
using EventGateway.Languages.GoTemplates;
using EventGateway.Languages.Json;

namespace EventGateway.Languages.Expr;

/// <summary>
/// expr-lang's non-predicate builtins plus Argo's additions (asInt, asFloat, jsonpath, toJson).
/// Predicate functions (filter, map, all, ...) live in <see cref="PredicateFunctions"/>.
/// </summary>
internal static class Builtins
{
    private static readonly FrozenDictionary<string, Builtin> Table = new Builtin[]
    {
        new("len", 1, 1, a => Len(a[0])),
        new("abs", 1, 1, a => Values.TryInt(a[0], out var i) ? Math.Abs(i) : Math.Abs(Args.Number(a, 0, "abs"))),
        new("int", 1, 1, a => ToInt(a[0], "int", strict: false)),
        new("float", 1, 1, a => ToFloat(a[0], "float")),
        new("string", 1, 1, a => GoFormat.PrintV(a[0])),
        new("upper", 1, 1, a => Args.Str(a, 0, "upper").ToUpperInvariant()),
        new("lower", 1, 1, a => Args.Str(a, 0, "lower").ToLowerInvariant()),
        new("trim", 1, 2, a => a.Length == 1 ? Args.Str(a, 0, "trim").Trim() : Args.Str(a, 0, "trim").Trim(Args.Str(a, 1, "trim").ToCharArray())),
        new("trimPrefix", 2, 2, a => TrimPrefix(Args.Str(a, 0, "trimPrefix"), Args.Str(a, 1, "trimPrefix"))),
        new("trimSuffix", 2, 2, a => TrimSuffix(Args.Str(a, 0, "trimSuffix"), Args.Str(a, 1, "trimSuffix"))),
        new("split", 2, 3, a => Split(Args.Str(a, 0, "split"), Args.Str(a, 1, "split"), a.Length > 2 ? Args.Int(a, 2, "split") : -1)),
        new("join", 1, 2, a => string.Join(a.Length > 1 ? Args.Str(a, 1, "join") : string.Empty, Args.List(a, 0, "join").Select(GoFormat.PrintV))),
        new("replace", 3, 3, a => ReplaceAll(Args.Str(a, 0, "replace"), Args.Str(a, 1, "replace"), Args.Str(a, 2, "replace"))),
        new("repeat", 2, 2, a => Repeat(Args.Str(a, 0, "repeat"), Args.Int(a, 1, "repeat"), "repeat")),
        new("indexOf", 2, 2, a => (long)Args.Str(a, 0, "indexOf").IndexOf(Args.Str(a, 1, "indexOf"), StringComparison.Ordinal)),
        new("lastIndexOf", 2, 2, a => (long)Args.Str(a, 0, "lastIndexOf").LastIndexOf(Args.Str(a, 1, "lastIndexOf"), StringComparison.Ordinal)),
        new("hasPrefix", 2, 2, a => Args.Str(a, 0, "hasPrefix").StartsWith(Args.Str(a, 1, "hasPrefix"), StringComparison.Ordinal)),
        new("hasSuffix", 2, 2, a => Args.Str(a, 0, "hasSuffix").EndsWith(Args.Str(a, 1, "hasSuffix"), StringComparison.Ordinal)),
        new("max", 1, -1, a => Extreme(a, "max", sign: 1)),
        new("min", 1, -1, a => Extreme(a, "min", sign: -1)),
        new("ceil", 1, 1, a => Math.Ceiling(Args.Number(a, 0, "ceil"))),
        new("floor", 1, 1, a => Math.Floor(Args.Number(a, 0, "floor"))),
        new("round", 1, 1, a => Math.Round(Args.Number(a, 0, "round"), MidpointRounding.AwayFromZero)),
        new("first", 1, 1, a => Args.List(a, 0, "first") is { Count: > 0 } l ? l[0] : null),
        new("last", 1, 1, a => Args.List(a, 0, "last") is { Count: > 0 } l ? l[^1] : null),
        new("keys", 1, 1, a => Args.Map(a, 0, "keys").Keys.Cast<object?>().ToList()),
        new("values", 1, 1, a => Args.Map(a, 0, "values").Values.ToList()),
        new("toJSON", 1, 1, a => JsonCodec.Serialize(a[0], indent: true)),
        new("fromJSON", 1, 1, a => JsonCodec.Parse(Args.Str(a, 0, "fromJSON"))),

        // Argo additions (util/expr/env): asInt/asFloat are the documented casts, toJson is compact JSON.
        new("asInt", 1, 1, a => ToInt(a[0], "asInt", strict: true)),
        new("asFloat", 1, 1, a => ToFloat(a[0], "asFloat")),
        new("toJson", 1, 1, a => JsonCodec.Serialize(a[0])),
        new("jsonpath", 2, 2, a => JsonPath.Evaluate(a[0] is string json ? JsonCodec.Parse(json) : Values.Normalize(a[0]), Args.Str(a, 1, "jsonpath"))),
    }.ToFrozenDictionary(b => b.Name, StringComparer.Ordinal);

    public static bool TryGet(string name, out Builtin builtin) => Table.TryGetValue(name, out builtin!);

    /// <summary>
    /// <c>int()</c> truncates floats like expr; <c>asInt()</c> (strict) refuses values with a fraction so a
    /// bad parameter fails loudly instead of being silently rounded.
    /// </summary>
    public static long ToInt(object? value, string function, bool strict)
    {
        value = Values.Normalize(value);
        if (Values.TryInt(value, out var i))
        {
            return i;
        }

        if (value is double d)
        {
            return FromDouble(d, strict, function, value);
        }

        if (value is string s)
        {
            var text = s.Trim();
            if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out i))
            {
                return i;
            }

            if (strict && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out d))
            {
                return FromDouble(d, strict, function, value);
            }

            throw new ExprError($"{function}: cannot parse '{s}' as int");
        }

        throw new ExprError($"{function}: cannot convert {Values.TypeName(value)} to int");
    }

    public static double ToFloat(object? value, string function)
    {
        value = Values.Normalize(value);
        if (Values.TryNumber(value, out var d))
        {
            return d;
        }

        if (value is string s && double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out d))
        {
            return d;
        }

        throw new ExprError(value is string text
            ? $"{function}: cannot parse '{text}' as float"
            : $"{function}: cannot convert {Values.TypeName(value)} to float");
    }

    public static string TrimPrefix(string s, string prefix) =>
        prefix.Length > 0 && s.StartsWith(prefix, StringComparison.Ordinal) ? s[prefix.Length..] : s;

    public static string TrimSuffix(string s, string suffix) =>
        suffix.Length > 0 && s.EndsWith(suffix, StringComparison.Ordinal) ? s[..^suffix.Length] : s;

    /// <summary>Go's strings.ReplaceAll, including its rule for an empty <paramref name="old"/>.</summary>
    public static string ReplaceAll(string s, string old, string replacement)
    {
        if (old.Length > 0)
        {
            return s.Replace(old, replacement, StringComparison.Ordinal);
        }

        var sb = new StringBuilder(replacement);
        foreach (var c in s)
        {
            sb.Append(c).Append(replacement);
        }

        return sb.ToString();
    }

    public static string Repeat(string s, long count, string function)
    {
        if (count < 0 || (s.Length > 0 && count > 10_000_000 / s.Length))
        {
            throw new ExprError($"{function}: invalid repeat count {count}");
        }

        return string.Concat(Enumerable.Repeat(s, (int)count));
    }

    /// <summary>Go's strings.SplitN: n &lt; 0 means all parts, n == 0 none, an empty separator splits characters.</summary>
    public static List<object?> Split(string s, string separator, long n)
    {
        if (n == 0)
        {
            return [];
        }

        string[] parts;
        if (separator.Length == 0)
        {
            parts = s.Select(c => c.ToString()).ToArray();
            if (n > 0 && parts.Length > n)
            {
                parts = [.. parts[..(int)(n - 1)], s[(int)(n - 1)..]];
            }
        }
        else
        {
            parts = n > 0 ? s.Split(separator, (int)Math.Min(n, int.MaxValue)) : s.Split(separator);
        }

        return parts.Cast<object?>().ToList();
    }

    private static long Len(object? value)
    {
        value = Values.Normalize(value);
        if (value is string s)
        {
            return s.Length;
        }

        if (Values.AsList(value) is { } list)
        {
            return list.Count;
        }

        return Values.AsMap(value) is { } map
            ? map.Count
            : throw new ExprError($"len: invalid argument of type {Values.TypeName(value)}");
    }

    private static long FromDouble(double d, bool strict, string function, object? original)
    {
        if (double.IsNaN(d) || double.IsInfinity(d) || (strict && Math.Truncate(d) != d))
        {
            throw new ExprError($"{function}: {GoFormat.PrintV(original)} is not an integer");
        }

        return (long)Math.Truncate(d);
    }

    /// <summary>max/min over the arguments, or over the single array argument; keeps the winner's type.</summary>
    private static object? Extreme(object?[] args, string function, int sign)
    {
        IReadOnlyList<object?> items = args.Length == 1 && Values.AsList(Values.Normalize(args[0])) is { } list ? list : args;
        if (items.Count == 0)
        {
            throw new ExprError($"{function}: no values");
        }

        object? best = null;
        foreach (var item in items)
        {
            if (!Values.IsNumber(item))
            {
                throw new ExprError($"{function}: expects numbers, got {Values.TypeName(item)}");
            }

            if (best is null || Operators.Compare(item, best, function) * sign > 0)
            {
                best = item;
            }
        }

        return Values.Normalize(best);
    }
}
