using System.Globalization;
using System.Text;
using System.Text.Json;
using EventGateway.Languages.Expr;
using EventGateway.Languages.GoTemplates;

namespace EventGateway.Languages.Json;

/// <summary>
/// JSON in and out of the expression value model. Output mirrors Go's encoding/json (sorted map keys,
/// HTML-safe escaping, Go float format) so rendered templates match what Argo produces byte for byte.
/// </summary>
internal static class JsonCodec
{
    private const int MaxDepth = 256;

    public static string Serialize(object? value, bool indent = false)
    {
        var sb = new StringBuilder();
        Write(sb, value, indent ? 0 : -1, 0);
        return sb.ToString();
    }

    /// <summary>Parses JSON; integral numbers become long, others double.</summary>
    public static object? Parse(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = MaxDepth });
            return Convert(doc.RootElement);
        }
        catch (JsonException e)
        {
            throw new ExprError($"invalid JSON: {e.Message}");
        }
    }

    private static object? Convert(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var map = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (var property in element.EnumerateObject())
                {
                    map[property.Name] = Convert(property.Value);
                }

                return map;
            case JsonValueKind.Array:
                var list = new List<object?>(element.GetArrayLength());
                foreach (var item in element.EnumerateArray())
                {
                    list.Add(Convert(item));
                }

                return list;
            case JsonValueKind.String:
                return element.GetString();
            case JsonValueKind.Number:
                if (element.TryGetInt64(out var l))
                {
                    return l;
                }

                var d = element.GetDouble();
                return Math.Floor(d) == d && d >= long.MinValue && d < long.MaxValue ? (long)d : d;
            case JsonValueKind.True:
                return true;
            case JsonValueKind.False:
                return false;
            default:
                return null;
        }
    }

    /// <param name="level">Indentation depth, or -1 for compact output.</param>
    private static void Write(StringBuilder sb, object? value, int level, int depth)
    {
        if (depth > MaxDepth)
        {
            throw new ExprError("json: value is nested too deeply");
        }

        value = Values.Normalize(value);
        switch (value)
        {
            case null: sb.Append("null"); return;
            case string s: JsonText.AppendString(sb, s, JsonDialect.GoEncodingJson); return;
            case bool b: sb.Append(b ? "true" : "false"); return;
            case long l: sb.Append(l.ToString(CultureInfo.InvariantCulture)); return;
            case double d: sb.Append(GoFormat.JsonFloat(d)); return;
        }

        if (Values.AsMap(value) is { } map)
        {
            var keys = map.Keys.Order(StringComparer.Ordinal).ToList();
            WriteContainer(sb, '{', '}', keys.Count, level, i =>
            {
                JsonText.AppendString(sb, keys[i], JsonDialect.GoEncodingJson);
                sb.Append(level >= 0 ? ": " : ":");
                Write(sb, map[keys[i]], level >= 0 ? level + 1 : -1, depth + 1);
            });
            return;
        }

        if (Values.AsList(value) is { } list)
        {
            WriteContainer(sb, '[', ']', list.Count, level, i => Write(sb, list[i], level >= 0 ? level + 1 : -1, depth + 1));
            return;
        }

        throw new ExprError($"json: unsupported type {value.GetType().Name}");
    }

    private static void WriteContainer(StringBuilder sb, char open, char close, int count, int level, Action<int> writeItem)
    {
        sb.Append(open);
        for (var i = 0; i < count; i++)
        {
            if (i > 0)
            {
                sb.Append(',');
            }

            NewLine(sb, level, level + 1);
            writeItem(i);
        }

        if (count > 0)
        {
            NewLine(sb, level, level);
        }

        sb.Append(close);
    }

    private static void NewLine(StringBuilder sb, int level, int indent)
    {
        if (level >= 0)
        {
            sb.Append('\n').Append(' ', indent * 2);
        }
    }
}
