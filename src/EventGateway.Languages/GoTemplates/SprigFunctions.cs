using System.Collections.Frozen;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using EventGateway.Languages.Expr;
using EventGateway.Languages.Json;

namespace EventGateway.Languages.GoTemplates;

/// <summary>
/// The commonly used Sprig functions, reachable as <c>sprig.name(...)</c>. Sprig takes the "piped" value
/// as its LAST argument (<c>sprig.trimPrefix("v", s)</c>) and, unlike expr, mostly returns zero values
/// instead of failing (e.g. <c>sprig.int("x") == 0</c>); both behaviours are kept on purpose.
/// </summary>
internal static class SprigFunctions
{
    private const string AlphaNumeric = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    private static readonly FrozenDictionary<string, Builtin> Table = new Builtin[]
    {
        // Strings
        new("upper", 1, 1, a => S(a, 0, "upper").ToUpperInvariant()),
        new("lower", 1, 1, a => S(a, 0, "lower").ToLowerInvariant()),
        new("trim", 1, 1, a => S(a, 0, "trim").Trim()),
        new("trimAll", 2, 2, a => S(a, 1, "trimAll").Trim(S(a, 0, "trimAll").ToCharArray())),
        new("trimPrefix", 2, 2, a => Builtins.TrimPrefix(S(a, 1, "trimPrefix"), S(a, 0, "trimPrefix"))),
        new("trimSuffix", 2, 2, a => Builtins.TrimSuffix(S(a, 1, "trimSuffix"), S(a, 0, "trimSuffix"))),
        new("replace", 3, 3, a => Builtins.ReplaceAll(S(a, 2, "replace"), S(a, 0, "replace"), S(a, 1, "replace"))),
        new("contains", 2, 2, a => S(a, 1, "contains").Contains(S(a, 0, "contains"), StringComparison.Ordinal)),
        new("hasPrefix", 2, 2, a => S(a, 1, "hasPrefix").StartsWith(S(a, 0, "hasPrefix"), StringComparison.Ordinal)),
        new("hasSuffix", 2, 2, a => S(a, 1, "hasSuffix").EndsWith(S(a, 0, "hasSuffix"), StringComparison.Ordinal)),
        new("repeat", 2, 2, a => Builtins.Repeat(S(a, 1, "repeat"), Args.Int(a, 0, "sprig.repeat"), "sprig.repeat")),
        new("substr", 3, 3, a => SprigStrings.Substr(Args.Int(a, 0, "sprig.substr"), Args.Int(a, 1, "sprig.substr"), S(a, 2, "substr"))),
        new("trunc", 2, 2, a => SprigStrings.Trunc(Args.Int(a, 0, "sprig.trunc"), S(a, 1, "trunc"))),
        new("quote", 0, -1, a => string.Join(' ', a.Where(v => v is not null).Select(v => SprigStrings.GoQuote(GoFormat.PrintV(v))))),
        new("squote", 0, -1, a => string.Join(' ', a.Where(v => v is not null).Select(v => $"'{GoFormat.PrintV(v)}'"))),
        new("cat", 0, -1, a => string.Join(' ', a.Where(v => v is not null).Select(GoFormat.PrintV))),
        new("indent", 2, 2, a => SprigStrings.Indent(Args.Int(a, 0, "sprig.indent"), S(a, 1, "indent"))),
        new("nindent", 2, 2, a => "\n" + SprigStrings.Indent(Args.Int(a, 0, "sprig.nindent"), S(a, 1, "nindent"))),
        new("title", 1, 1, a => SprigStrings.Title(S(a, 0, "title"))),
        new("untitle", 1, 1, a => SprigStrings.Untitle(S(a, 0, "untitle"))),
        new("b64enc", 1, 1, a => Convert.ToBase64String(Encoding.UTF8.GetBytes(S(a, 0, "b64enc")))),
        new("b64dec", 1, 1, a => SprigStrings.Base64Decode(S(a, 0, "b64dec"))),
        new("sha256sum", 1, 1, a => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(S(a, 0, "sha256sum"))))),
        new("toString", 1, 1, a => GoFormat.PrintV(a[0])),
        new("splitList", 2, 2, a => Builtins.Split(S(a, 1, "splitList"), S(a, 0, "splitList"), -1)),
        new("join", 2, 2, a => string.Join(S(a, 0, "join"), StrSlice(a[1]))),
        new("regexMatch", 2, 2, a => RegexMatch(S(a, 0, "regexMatch"), S(a, 1, "regexMatch"))),
        new("regexFind", 2, 2, a => RegexCache.Get(S(a, 0, "regexFind")).Match(S(a, 1, "regexFind")) is { Success: true } m ? m.Value : string.Empty),
        new("regexReplaceAll", 3, 3, a => SprigStrings.RegexReplaceAll(S(a, 0, "regexReplaceAll"), S(a, 1, "regexReplaceAll"), S(a, 2, "regexReplaceAll"))),
        new("randAlphaNum", 1, 1, a => RandomNumberGenerator.GetString(AlphaNumeric, (int)Math.Clamp(Args.Int(a, 0, "sprig.randAlphaNum"), 0, 1_000_000))),

        // Numbers: sprig casts loosely to int64 (cast.ToInt64) and yields 0 for unparsable input.
        new("atoi", 1, 1, a => long.TryParse(S(a, 0, "atoi"), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? n : 0L),
        new("int", 1, 1, a => ToInt64(a[0])),
        new("int64", 1, 1, a => ToInt64(a[0])),
        new("float64", 1, 1, a => ToFloat64(a[0])),
        new("add", 0, -1, a => a.Aggregate(0L, (sum, v) => unchecked(sum + ToInt64(v)))),
        new("sub", 2, 2, a => unchecked(ToInt64(a[0]) - ToInt64(a[1]))),
        new("mul", 1, -1, a => a.Skip(1).Aggregate(ToInt64(a[0]), (product, v) => unchecked(product * ToInt64(v)))),
        new("div", 2, 2, a => ToInt64(a[1]) is var d && d == 0 ? throw new ExprError("sprig.div: integer divide by zero") : ToInt64(a[0]) / d),
        new("mod", 2, 2, a => ToInt64(a[1]) is var d && d == 0 ? throw new ExprError("sprig.mod: integer divide by zero") : ToInt64(a[0]) % d),
        new("max", 1, -1, a => a.Select(ToInt64).Max()),
        new("min", 1, -1, a => a.Select(ToInt64).Min()),

        // Defaults and logic
        new("default", 1, -1, a => a.Length < 2 || IsEmpty(a[1]) ? a[0] : a[1]),
        new("empty", 1, 1, a => IsEmpty(a[0])),
        new("coalesce", 0, -1, a => a.FirstOrDefault(v => !IsEmpty(v))),
        new("ternary", 3, 3, a => Operators.Bool(a[2], "sprig.ternary") ? a[0] : a[1]),

        // Collections
        new("list", 0, -1, a => a.ToList()),
        new("dict", 0, -1, Dict),
        new("first", 1, 1, a => ListOrNull(a[0], "first") is { Count: > 0 } l ? l[0] : null),
        new("last", 1, 1, a => ListOrNull(a[0], "last") is { Count: > 0 } l ? l[^1] : null),
        new("has", 2, 2, a => ListOrNull(a[1], "has") is { } l && l.Any(v => Values.DeepEqual(v, a[0]))),
        new("uniq", 1, 1, a => Uniq(ListOrNull(a[0], "uniq") ?? [])),

        // Dates: a time is unix seconds (sprig's int64); anything else, strings included, is "now", as in sprig.
        new("date", 2, 2, a => GoTimeLayout.Format(TimeOf(a[1]), S(a, 0, "date"))),
        new("dateInZone", 3, 3, a => GoTimeLayout.Format(TimeOf(a[1]), S(a, 0, "dateInZone"), S(a, 2, "dateInZone"))),

        // JSON: sprig swallows errors (toJson -> "", fromJson -> nil).
        new("toJson", 1, 1, a => TryOrDefault(() => JsonCodec.Serialize(a[0]), string.Empty)),
        new("toPrettyJson", 1, 1, a => TryOrDefault(() => JsonCodec.Serialize(a[0], indent: true), string.Empty)),
        new("fromJson", 1, 1, a => TryOrDefault(() => JsonCodec.Parse(S(a, 0, "fromJson")), null)),
    }.ToFrozenDictionary(b => b.Name, StringComparer.Ordinal);

    public static bool TryGet(string name, out Builtin builtin) => Table.TryGetValue(name, out builtin!);

    private static DateTimeOffset TimeOf(object? value) =>
        Values.Normalize(value) is long seconds && seconds is >= -62135596800 and <= 253402300799
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : TimeProvider.System.GetUtcNow();

    /// <summary>Sprig's notion of "empty": nil, false, 0, "" and empty collections.</summary>
    public static bool IsEmpty(object? value)
    {
        value = Values.Normalize(value);
        return value switch
        {
            null => true,
            string s => s.Length == 0,
            bool b => !b,
            long l => l == 0,
            double d => d == 0,
            _ => (Values.AsList(value)?.Count ?? Values.AsMap(value)?.Count) == 0,
        };
    }

    /// <summary>cast.ToInt64: numbers truncate, strings parse with Go base prefixes, anything else is 0.</summary>
    public static long ToInt64(object? value)
    {
        value = Values.Normalize(value);
        switch (value)
        {
            case long l: return l;
            case double d: return double.IsFinite(d) ? (long)Math.Truncate(d) : 0;
            case bool b: return b ? 1 : 0;
            case string s: return ParseGoInt(s);
            default: return 0;
        }
    }

    public static double ToFloat64(object? value)
    {
        value = Values.Normalize(value);
        return value switch
        {
            long l => l,
            double d => d,
            bool b => b ? 1 : 0,
            string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
            _ => 0,
        };
    }

    private static string S(object?[] args, int index, string function) => Args.Str(args, index, "sprig." + function);

    private static long ParseGoInt(string s)
    {
        var text = s;
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        if (dot >= 0 && text[(dot + 1)..].All(c => c == '0'))
        {
            text = text[..dot];
        }

        var negative = text.StartsWith('-');
        if (negative || text.StartsWith('+'))
        {
            text = text[1..];
        }

        var (radix, digits) = text.Length > 1 && text[0] == '0'
            ? char.ToLowerInvariant(text[1]) switch
            {
                'x' => (16, text[2..]),
                'b' => (2, text[2..]),
                'o' => (8, text[2..]),
                _ => (8, text[1..]),
            }
            : (10, text);
        try
        {
            var magnitude = Convert.ToInt64(digits.Replace("_", string.Empty, StringComparison.Ordinal), radix);
            return digits.Length == 0 || digits.StartsWith('-') ? 0 : negative ? -magnitude : magnitude;
        }
        catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
        {
            return 0;
        }
    }

    /// <summary>sprig's strslice: a list becomes its non-nil elements as strings; anything else one string.</summary>
    private static IEnumerable<string> StrSlice(object? value)
    {
        value = Values.Normalize(value);
        if (value is null)
        {
            return [];
        }

        return Values.AsList(value) is { } list
            ? list.Where(v => v is not null).Select(GoFormat.PrintV)
            : [GoFormat.PrintV(value)];
    }

    private static bool RegexMatch(string pattern, string s)
    {
        try
        {
            return RegexCache.IsMatch(pattern, s);
        }
        catch (ExprError)
        {
            // sprig's regexMatch ignores compile errors and reports no match.
            return false;
        }
    }

    private static IReadOnlyList<object?>? ListOrNull(object? value, string function)
    {
        value = Values.Normalize(value);
        return value is null
            ? null
            : Values.AsList(value) ?? throw new ExprError($"sprig.{function}: cannot use {Values.TypeName(value)} as a list");
    }

    private static List<object?> Uniq(IReadOnlyList<object?> list)
    {
        var result = new List<object?>();
        foreach (var item in list)
        {
            if (!result.Any(existing => Values.DeepEqual(existing, item)))
            {
                result.Add(item);
            }
        }

        return result;
    }

    private static Dictionary<string, object?> Dict(object?[] args)
    {
        var map = new Dictionary<string, object?>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i += 2)
        {
            map[GoFormat.PrintV(args[i])] = i + 1 < args.Length ? args[i + 1] : string.Empty;
        }

        return map;
    }

    private static object? TryOrDefault(Func<object?> body, object? fallback)
    {
        try
        {
            return body();
        }
        catch (ExprError)
        {
            return fallback;
        }
    }
}
