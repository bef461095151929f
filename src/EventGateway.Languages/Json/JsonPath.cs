using System.Globalization;
using EventGateway.Languages.Expr;

namespace EventGateway.Languages.Json;

/// <summary>
/// The JSONPath subset Argo's <c>jsonpath()</c> is used with: <c>$</c>, <c>.field</c>, <c>['field']</c>,
/// <c>[n]</c> (negative from the end), <c>[a:b]</c>, the wildcards <c>[*]</c> / <c>.*</c> and filters
/// <c>[?(@.age &gt; 42)]</c> (<see cref="JsonPathFilter"/>). Once a wildcard, slice or filter is applied the
/// result is a list, and later steps apply to every element.
/// </summary>
public static class JsonPath
{
    /// <summary>Evaluates <paramref name="path"/> over a JSON document's text.</summary>
    /// <exception cref="ExpressionException">The path is malformed or does not fit the document.</exception>
    public static object? Query(string json, string path)
    {
        try { return Evaluate(JsonCodec.Parse(json), path); }
        catch (ExprError e) { throw new ExpressionException(e.Reason, e); }
    }

    internal static object? Evaluate(object? root, string path)
    {
        var p = path.Trim();
        if (p.Length == 0 || p[0] != '$')
        {
            throw new ExprError($"jsonpath '{path}' must start with '$'");
        }

        var current = new List<object?> { root };
        var multi = false;
        var i = 1;
        while (i < p.Length)
        {
            if (p[i] == '.')
            {
                if (i + 1 < p.Length && p[i + 1] == '.')
                {
                    throw new ExprError($"jsonpath '{path}': recursive descent '..' is not supported");
                }

                var end = i + 1;
                while (end < p.Length && p[end] is not ('.' or '['))
                {
                    end++;
                }

                var name = p[(i + 1)..end];
                if (name.Length == 0)
                {
                    throw new ExprError($"jsonpath '{path}': empty field name at {i}");
                }

                (current, multi) = name == "*" ? (Wildcard(current, path), true) : (Field(current, name, multi, path), multi);
                i = end;
            }
            else if (p[i] == '[')
            {
                var close = FindClose(p, i, path);
                (current, multi) = Bracket(current, p[(i + 1)..close].Trim(), multi, root, path);
                i = close + 1;
            }
            else
            {
                throw new ExprError($"jsonpath '{path}': unexpected '{p[i]}' at {i}");
            }
        }

        return multi ? current : current[0];
    }

    private static int FindClose(string p, int open, string path)
    {
        char? quote = null;
        var depth = 0;
        for (var j = open + 1; j < p.Length; j++)
        {
            if (quote is { } q)
            {
                quote = p[j] == q ? null : quote;
            }
            else if (p[j] is '\'' or '"')
            {
                quote = p[j];
            }
            else if (p[j] == '[')
            {
                depth++; // a filter's own paths: [?(@.list[0] == 1)]
            }
            else if (p[j] == ']' && depth-- == 0)
            {
                return j;
            }
        }

        throw new ExprError($"jsonpath '{path}': missing ']'");
    }

    private static (List<object?> Values, bool Multi) Bracket(List<object?> current, string inner, bool multi, object? root, string path)
    {
        if (inner == "*")
        {
            return (Wildcard(current, path), true);
        }

        if (inner.StartsWith("?(", StringComparison.Ordinal) && inner.EndsWith(')'))
        {
            return (JsonPathFilter.Apply(current, inner[2..^1], root, path), true);
        }

        if (inner.Length >= 2 && inner[0] is '\'' or '"' && inner[^1] == inner[0])
        {
            return (Field(current, inner[1..^1], multi, path), multi);
        }

        var colon = inner.IndexOf(':', StringComparison.Ordinal);
        if (colon >= 0)
        {
            var from = ParseIndexOrNull(inner[..colon], path);
            var to = ParseIndexOrNull(inner[(colon + 1)..], path);
            var sliced = new List<object?>();
            foreach (var value in current)
            {
                sliced.AddRange((List<object?>)Access.Slice(value, from, to)!);
            }

            return (sliced, true);
        }

        var index = ParseIndexOrNull(inner, path) ?? throw new ExprError($"jsonpath '{path}': empty index");
        var result = new List<object?>(current.Count);
        foreach (var value in current)
        {
            if (Values.AsList(value) is null)
            {
                throw new ExprError($"jsonpath '{path}': cannot index {Values.TypeName(value)} with [{inner}]");
            }

            result.Add(Access.Get(value, index, optional: false));
        }

        return (result, multi);
    }

    private static long? ParseIndexOrNull(string text, string path)
    {
        text = text.Trim();
        if (text.Length == 0)
        {
            return null;
        }

        return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)
            ? n
            : throw new ExprError($"jsonpath '{path}': invalid index '{text}'");
    }

    private static List<object?> Field(List<object?> current, string name, bool multi, string path)
    {
        var result = new List<object?>(current.Count);
        foreach (var value in current)
        {
            if (Values.AsMap(value) is { } map && map.TryGetValue(name, out var child))
            {
                result.Add(child);
            }
            else if (!multi)
            {
                throw new ExprError($"jsonpath '{path}': key '{name}' not found");
            }
        }

        return result;
    }

    private static List<object?> Wildcard(List<object?> current, string path)
    {
        var result = new List<object?>();
        foreach (var value in current)
        {
            if (Values.AsMap(value) is { } map)
            {
                // Deterministic order: Go maps have none, so sort like encoding/json does.
                result.AddRange(map.Keys.Order(StringComparer.Ordinal).Select(k => map[k]));
            }
            else if (Values.AsList(value) is { } list)
            {
                result.AddRange(list);
            }
            else
            {
                throw new ExprError($"jsonpath '{path}': cannot apply wildcard to {Values.TypeName(value)}");
            }
        }

        return result;
    }
}
