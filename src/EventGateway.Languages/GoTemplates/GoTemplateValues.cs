using System.Collections;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using EventGateway.Languages.Expr;

namespace EventGateway.Languages.GoTemplates;

/// <summary>Go's invalid reflect.Value: what a missing map key or a nil pipeline result evaluates to.</summary>
internal sealed class Missing
{
    public static readonly Missing Value = new();

    private Missing()
    {
    }
}

/// <summary>
/// The template value model: null, bool, long (Go int), double (Go float64), string, lists and string-keyed maps
/// (the Expressions model), plus <see cref="Missing"/>. JSON input is converted once so numbers become float64
/// exactly as Go's JSON decoders hand them to Argo's templates.
/// </summary>
internal static class GoTemplateValues
{
    private const int MaxDepth = 256;

    public static object? FromData(object? data, int depth = 0)
    {
        if (depth > MaxDepth)
        {
            throw new GoTemplateException("template data is nested deeper than " + MaxDepth);
        }

        switch (data)
        {
            case null or string or bool or double or long:
                return data;
            case JsonElement element:
                return FromJson(element, depth);
            case JsonNode node:
                return FromJson(JsonSerializer.SerializeToElement(node), depth);
            case float or decimal:
                return Convert.ToDouble(data, CultureInfo.InvariantCulture);
        }

        if (Values.TryInt(data, out var l))
        {
            return l;
        }

        if (Values.AsMap(data) is { } map)
        {
            return map.ToDictionary(kv => kv.Key, kv => FromData(kv.Value, depth + 1), StringComparer.Ordinal);
        }

        if (data is IEnumerable items)
        {
            return items.Cast<object?>().Select(item => FromData(item, depth + 1)).ToList();
        }

        throw new GoTemplateException($"unsupported template data type {data.GetType().Name}");
    }

    private static object? FromJson(JsonElement element, int depth)
    {
        if (depth > MaxDepth)
        {
            throw new GoTemplateException("template data is nested deeper than " + MaxDepth);
        }

        return element.ValueKind switch
        {
            JsonValueKind.Object => element.EnumerateObject()
                .GroupBy(p => p.Name, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => FromJson(g.Last().Value, depth + 1), StringComparer.Ordinal),
            JsonValueKind.Array => element.EnumerateArray().Select(e => FromJson(e, depth + 1)).ToList(),
            JsonValueKind.String => element.GetString(),
            JsonValueKind.Number => element.GetDouble(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => null,
        };
    }

    /// <summary>Go's truth rule for if/with/and/or/not: zero values and empty collections are false.</summary>
    public static bool IsTrue(object? value) => value switch
    {
        Missing or null => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        IReadOnlyDictionary<string, object?> m => m.Count > 0,
        IReadOnlyList<object?> list => list.Count > 0,
        _ => true,
    };

    /// <summary>The Go type name shown in "wrong type" errors.</summary>
    public static string GoType(object? value) => value switch
    {
        null or Missing => "interface {}",
        bool => "bool",
        long => "int",
        double => "float64",
        string => "string",
        IReadOnlyDictionary<string, object?> => "map[string]interface {}",
        IReadOnlyList<object?> => "[]interface {}",
        _ => value.GetType().Name,
    };

    /// <summary>fmt.Sprint of one operand, as text/template prints action results.</summary>
    public static string Print(object? value) => value is Missing ? "<no value>" : GoFormat.PrintV(value);

    /// <summary>fmt.Sprint: a space goes between operands when neither side is a string.</summary>
    public static string Sprint(IReadOnlyList<object?> args)
    {
        var sb = new System.Text.StringBuilder();
        for (var i = 0; i < args.Count; i++)
        {
            if (i > 0 && args[i] is not string && args[i - 1] is not string)
            {
                sb.Append(' ');
            }

            sb.Append(GoFormat.PrintV(Plain(args[i])));
        }

        return sb.ToString();
    }

    public static string Sprintln(IReadOnlyList<object?> args) => string.Join(' ', args.Select(a => GoFormat.PrintV(Plain(a)))) + "\n";

    /// <summary>Missing passed to an interface{} parameter arrives as nil.</summary>
    public static object? Plain(object? value) => value is Missing ? null : value;
}
