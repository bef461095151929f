using System.Collections;

namespace EventGateway.Languages.Expr;

/// <summary>
/// Type helpers for the expression value model: null, bool, long, double, string,
/// IReadOnlyList&lt;object?&gt; and IReadOnlyDictionary&lt;string, object?&gt;. Callers may hand in other CLR
/// numeric or collection types, so every accessor accepts those too instead of deep-copying inputs.
/// </summary>
internal static class Values
{
    public static bool TryInt(object? value, out long result)
    {
        switch (value)
        {
            case long l: result = l; return true;
            case int i: result = i; return true;
            case short s: result = s; return true;
            case byte b: result = b; return true;
            case sbyte sb: result = sb; return true;
            case ushort us: result = us; return true;
            case uint ui: result = ui; return true;
            case ulong ul when ul <= long.MaxValue: result = (long)ul; return true;
            default: result = 0; return false;
        }
    }

    public static bool IsFloat(object? value) => value is double or float or decimal;

    public static bool IsNumber(object? value) => IsFloat(value) || TryInt(value, out _);

    /// <summary>Any numeric value widened to double.</summary>
    public static bool TryNumber(object? value, out double result)
    {
        switch (value)
        {
            case double d: result = d; return true;
            case float f: result = f; return true;
            case decimal m: result = (double)m; return true;
        }

        if (TryInt(value, out var l))
        {
            result = l;
            return true;
        }

        result = 0;
        return false;
    }

    /// <summary>Canonicalises a scalar so results only ever contain long/double, never int/float/decimal.</summary>
    public static object? Normalize(object? value)
    {
        switch (value)
        {
            case null or string or long or double or bool:
                return value;
            case EnvNode node:
                return node.Collapse();
            case float f:
                return (double)f;
            case decimal m:
                return (double)m;
        }

        if (TryInt(value, out var l))
        {
            return l;
        }

        return AsList(value) ?? (object?)AsMap(value) ?? value;
    }

    public static IReadOnlyList<object?>? AsList(object? value)
    {
        switch (value)
        {
            case string:
                return null;
            case IReadOnlyList<object?> list:
                return list;
            case IList legacy:
                var copy = new List<object?>(legacy.Count);
                foreach (var item in legacy)
                {
                    copy.Add(item);
                }

                return copy;
            default:
                return null;
        }
    }

    public static IReadOnlyDictionary<string, object?>? AsMap(object? value)
    {
        switch (value)
        {
            case IReadOnlyDictionary<string, object?> map:
                return map;
            case IDictionary legacy:
                var copy = new Dictionary<string, object?>(legacy.Count, StringComparer.Ordinal);
                foreach (DictionaryEntry entry in legacy)
                {
                    copy[Convert.ToString(entry.Key, System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty] = entry.Value;
                }

                return copy;
            default:
                return null;
        }
    }

    /// <summary>Type names as expr reports them in errors.</summary>
    public static string TypeName(object? value)
    {
        if (value is null)
        {
            return "nil";
        }

        if (value is bool)
        {
            return "bool";
        }

        if (value is string)
        {
            return "string";
        }

        if (IsFloat(value))
        {
            return "float";
        }

        if (TryInt(value, out _))
        {
            return "int";
        }

        if (value is EnvNode node)
        {
            return node.HasLeaf ? TypeName(node.Leaf) : "map";
        }

        if (AsMap(value) is not null)
        {
            return "map";
        }

        return AsList(value) is not null ? "array" : value.GetType().Name;
    }

    /// <summary>
    /// expr equality: numbers compare by value across int/float, collections compare deeply, and values of
    /// different types are simply unequal rather than an error.
    /// </summary>
    public static bool DeepEqual(object? a, object? b)
    {
        a = a is EnvNode na ? na.Collapse() : a;
        b = b is EnvNode nb ? nb.Collapse() : b;
        if (a is null || b is null)
        {
            return a is null && b is null;
        }

        if (a is string sa)
        {
            return b is string sb && string.Equals(sa, sb, StringComparison.Ordinal);
        }

        if (a is bool ba)
        {
            return b is bool bb && ba == bb;
        }

        if (TryInt(a, out var ia) && TryInt(b, out var ib))
        {
            return ia == ib;
        }

        if (TryNumber(a, out var da) && TryNumber(b, out var db))
        {
            return da == db;
        }

        if (AsMap(a) is { } ma)
        {
            return AsMap(b) is { } mb && MapsEqual(ma, mb);
        }

        if (AsList(a) is { } la)
        {
            return AsList(b) is { } lb && ListsEqual(la, lb);
        }

        return a.Equals(b);
    }

    private static bool ListsEqual(IReadOnlyList<object?> a, IReadOnlyList<object?> b)
    {
        if (a.Count != b.Count)
        {
            return false;
        }

        for (var i = 0; i < a.Count; i++)
        {
            if (!DeepEqual(a[i], b[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static bool MapsEqual(IReadOnlyDictionary<string, object?> a, IReadOnlyDictionary<string, object?> b)
    {
        if (a.Count != b.Count)
        {
            return false;
        }

        foreach (var (key, value) in a)
        {
            if (!b.TryGetValue(key, out var other) || !DeepEqual(value, other))
            {
                return false;
            }
        }

        return true;
    }
}
