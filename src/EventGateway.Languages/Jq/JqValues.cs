using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EventGateway.Languages.Json;

namespace EventGateway.Languages.Jq;

/// <summary>
/// A jq object: insertion-ordered string keys. jq values are null, bool, double, string, <c>object?[]</c> (array)
/// and <see cref="JqObject"/>; all are treated as immutable once built, so they can be shared freely.
/// </summary>
internal sealed class JqObject : OrderedDictionary<string, object?>
{
    public JqObject()
        : base(StringComparer.Ordinal)
    {
    }

    public JqObject(int capacity)
        : base(capacity, StringComparer.Ordinal)
    {
    }

    public JqObject(JqObject other)
        : base(other, StringComparer.Ordinal)
    {
    }
}

/// <summary>One output of a filter: its value and, when the caller asked for paths (assignment, path(f)), where it sits.</summary>
internal readonly record struct Out(object? Value, JqPath? Path);

/// <summary>A path from the root of the input as a persistent list (cheap to extend while paths are being tracked).</summary>
internal sealed class JqPath
{
    public static readonly JqPath Root = new(null, null, 0);

    private JqPath(JqPath? parent, object? key, int length)
    {
        Parent = parent;
        Key = key;
        Length = length;
    }

    public JqPath? Parent { get; }

    public object? Key { get; }

    public int Length { get; }

    public JqPath Add(object? key) => new(this, key, Length + 1);

    public JqPath AddRange(object?[] keys)
    {
        var p = this;
        foreach (var k in keys)
        {
            p = p.Add(k);
        }

        return p;
    }

    public object?[] ToArray()
    {
        var keys = new object?[Length];
        for (var p = this; p.Length > 0; p = p.Parent!)
        {
            keys[p.Length - 1] = p.Key;
        }

        return keys;
    }
}

/// <summary>A jq runtime error: catchable by <c>try</c>/<c>?</c>; its value is what <c>catch</c> receives.</summary>
internal sealed class JqError : Exception
{
    public JqError(object? value)
        : base(value as string ?? $"{JqValues.ToJson(value)} (not a string)")
    {
        Value = value;
    }

    public object? Value { get; }

    public static JqError InvalidPath(object? result) => new($"Invalid path expression with result {JqValues.Truncate(JqValues.ToJson(result))}");
}

internal static class JqValues
{
    /// <summary>Deepest nesting any recursive operation will follow; deeper values fail instead of overflowing the stack.</summary>
    public const int MaxDepth = 512;

    private const int DescribeLength = 40;

    public static string TypeName(object? v) => v switch
    {
        null => "null",
        bool => "boolean",
        double => "number",
        string => "string",
        object?[] => "array",
        JqObject => "object",
        _ => throw new InvalidOperationException($"not a jq value: {v.GetType()}"),
    };

    public static bool IsTruthy(object? v) => v is not (null or false);

    /// <summary>jq's description in error messages: <c>number (5)</c>, <c>object ({"a":1,...})</c>, <c>null</c>.</summary>
    public static string Describe(object? v) => v is null ? "null (null)" : $"{TypeName(v)} ({Truncate(ToJson(v))})";

    public static string Truncate(string s) => s.Length <= DescribeLength ? s : s[..(DescribeLength - 3)] + "...";

    public static void CheckDepth(int depth)
    {
        if (depth > MaxDepth)
        {
            throw new TransformException($"value nested deeper than {MaxDepth} levels");
        }
    }

    private static int Rank(object? v) => v switch
    {
        null => 0,
        false => 1,
        true => 2,
        double => 3,
        string => 4,
        object?[] => 5,
        _ => 6,
    };

    /// <summary>jq's total order: null &lt; false &lt; true &lt; numbers &lt; strings &lt; arrays &lt; objects.</summary>
    public static int Compare(object? a, object? b) => Compare(a, b, 0);

    private static int Compare(object? a, object? b, int depth)
    {
        CheckDepth(depth);
        int ra = Rank(a), rb = Rank(b);
        if (ra != rb)
        {
            return ra.CompareTo(rb);
        }

        switch (a)
        {
            case double x:
                return x.CompareTo((double)b!);
            case string s:
                return CompareStrings(s, (string)b!);
            case object?[] xs:
            {
                var ys = (object?[])b!;
                for (var i = 0; i < Math.Min(xs.Length, ys.Length); i++)
                {
                    var c = Compare(xs[i], ys[i], depth + 1);
                    if (c != 0)
                    {
                        return c;
                    }
                }

                return xs.Length.CompareTo(ys.Length);
            }

            case JqObject xo:
            {
                var yo = (JqObject)b!;
                var xk = SortedKeys(xo);
                var yk = SortedKeys(yo);
                var c = Compare(xk.Cast<object?>().ToArray(), yk.Cast<object?>().ToArray(), depth + 1);
                if (c != 0)
                {
                    return c;
                }

                foreach (var k in xk)
                {
                    c = Compare(xo[k], yo[k], depth + 1);
                    if (c != 0)
                    {
                        return c;
                    }
                }

                return 0;
            }

            default:
                return 0;
        }
    }

    /// <summary>Code point order (what jq's byte-wise UTF-8 comparison gives), not UTF-16 order.</summary>
    public static int CompareStrings(string a, string b)
    {
        var n = Math.Min(a.Length, b.Length);
        for (var i = 0; i < n; i++)
        {
            char x = a[i], y = b[i];
            if (x == y)
            {
                continue;
            }

            bool xs = char.IsSurrogate(x), ys = char.IsSurrogate(y);
            if (xs != ys)
            {
                return xs ? 1 : -1;
            }

            return x.CompareTo(y);
        }

        return a.Length.CompareTo(b.Length);
    }

    public static List<string> SortedKeys(JqObject o)
    {
        var keys = new List<string>(o.Keys);
        keys.Sort(CompareStrings);
        return keys;
    }

    public static bool DeepEquals(object? a, object? b) => Equal(a, b, 0);

    private static bool Equal(object? a, object? b, int depth)
    {
        CheckDepth(depth);
        switch (a)
        {
            case null: return b is null;
            case bool xb: return b is bool yb && xb == yb;
            case double xd: return b is double yd && xd == yd;
            case string xs1: return b is string ys1 && string.Equals(xs1, ys1, StringComparison.Ordinal);
            case object?[] xs:
                if (b is not object?[] ys || xs.Length != ys.Length)
                {
                    return false;
                }

                for (var i = 0; i < xs.Length; i++)
                {
                    if (!Equal(xs[i], ys[i], depth + 1))
                    {
                        return false;
                    }
                }

                return true;
            case JqObject xo:
                if (b is not JqObject yo || xo.Count != yo.Count)
                {
                    return false;
                }

                foreach (var (k, v) in xo)
                {
                    if (!yo.TryGetValue(k, out var w) || !Equal(v, w, depth + 1))
                    {
                        return false;
                    }
                }

                return true;
            default:
                return false;
        }
    }

    /// <summary>Compact JSON as jq's <c>tojson</c> prints it.</summary>
    public static string ToJson(object? v)
    {
        var sb = new StringBuilder();
        AppendJson(sb, v, 0);
        return sb.ToString();
    }

    private static void AppendJson(StringBuilder sb, object? v, int depth)
    {
        CheckDepth(depth);
        switch (v)
        {
            case null: sb.Append("null"); break;
            case bool b: sb.Append(b ? "true" : "false"); break;
            case double d: sb.Append(JsonText.Number(d)); break;
            case string s: JsonText.AppendString(sb, s, JsonDialect.Jq); break;
            case object?[] a:
                sb.Append('[');
                for (var i = 0; i < a.Length; i++)
                {
                    if (i > 0)
                    {
                        sb.Append(',');
                    }

                    AppendJson(sb, a[i], depth + 1);
                }

                sb.Append(']');
                break;
            case JqObject o:
                sb.Append('{');
                var first = true;
                foreach (var (k, x) in o)
                {
                    if (!first)
                    {
                        sb.Append(',');
                    }

                    first = false;
                    JsonText.AppendString(sb, k, JsonDialect.Jq);
                    sb.Append(':');
                    AppendJson(sb, x, depth + 1);
                }

                sb.Append('}');
                break;
        }
    }

    /// <summary><c>tostring</c>: strings as they are, everything else as JSON.</summary>
    public static string ToText(object? v) => v as string ?? ToJson(v);

    public static object? FromElement(JsonElement e) => FromElement(e, 0);

    private static object? FromElement(JsonElement e, int depth)
    {
        CheckDepth(depth);
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                var o = new JqObject();
                foreach (var p in e.EnumerateObject())
                {
                    o[p.Name] = FromElement(p.Value, depth + 1);
                }

                return o;
            case JsonValueKind.Array:
                var a = new object?[e.GetArrayLength()];
                var i = 0;
                foreach (var x in e.EnumerateArray())
                {
                    a[i++] = FromElement(x, depth + 1);
                }

                return a;
            case JsonValueKind.String: return e.GetString();
            case JsonValueKind.Number:
                return e.TryGetDouble(out var d) ? d : double.Parse(e.GetRawText(), NumberStyles.Float, CultureInfo.InvariantCulture);
            case JsonValueKind.True: return true;
            case JsonValueKind.False: return false;
            default: return null;
        }
    }

    public static object? FromNode(JsonNode? node) => FromNode(node, 0);

    private static object? FromNode(JsonNode? node, int depth)
    {
        CheckDepth(depth);
        switch (node)
        {
            case null: return null;
            case JsonObject obj:
                var o = new JqObject(obj.Count);
                foreach (var (k, v) in obj)
                {
                    o[k] = FromNode(v, depth + 1);
                }

                return o;
            case JsonArray arr:
                var a = new object?[arr.Count];
                for (var i = 0; i < a.Length; i++)
                {
                    a[i] = FromNode(arr[i], depth + 1);
                }

                return a;
            default:
                var value = node.AsValue();
                switch (value.GetValueKind())
                {
                    case JsonValueKind.String: return value.GetValue<string>();
                    case JsonValueKind.True: return true;
                    case JsonValueKind.False: return false;
                    case JsonValueKind.Number:
                        return value.TryGetValue<double>(out var d)
                            ? d
                            : double.Parse(value.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture);
                    default: return null;
                }
        }
    }

    public static JsonNode? ToNode(object? v) => ToNode(v, 0);

    private static JsonNode? ToNode(object? v, int depth)
    {
        CheckDepth(depth);
        switch (v)
        {
            case null: return null;
            case bool b: return JsonValue.Create(b);
            case double d:
                if (double.IsNaN(d))
                {
                    return null;
                }

                if (double.IsInfinity(d))
                {
                    d = d > 0 ? double.MaxValue : double.MinValue;
                }

                return Math.Abs(d) < 9e15 && d == Math.Floor(d) ? JsonValue.Create((long)d) : JsonValue.Create(d);
            case string s: return JsonValue.Create(s);
            case object?[] a:
                var arr = new JsonArray();
                foreach (var x in a)
                {
                    arr.Add(ToNode(x, depth + 1));
                }

                return arr;
            case JqObject o:
                var obj = new JsonObject();
                foreach (var (k, x) in o)
                {
                    obj[k] = ToNode(x, depth + 1);
                }

                return obj;
            default:
                throw new InvalidOperationException($"not a jq value: {v.GetType()}");
        }
    }

    /// <summary>Writes a value as JSON; numbers in jq's notation so the event data reads as jq printed it.</summary>
    public static void Write(Utf8JsonWriter w, object? v) => Write(w, v, 0);

    private static void Write(Utf8JsonWriter w, object? v, int depth)
    {
        CheckDepth(depth);
        switch (v)
        {
            case null: w.WriteNullValue(); break;
            case bool b: w.WriteBooleanValue(b); break;
            case double d: w.WriteRawValue(JsonText.Number(d), skipInputValidation: true); break;
            case string s: w.WriteStringValue(s); break;
            case object?[] a:
                w.WriteStartArray();
                foreach (var x in a)
                {
                    Write(w, x, depth + 1);
                }

                w.WriteEndArray();
                break;
            case JqObject o:
                w.WriteStartObject();
                foreach (var (k, x) in o)
                {
                    w.WritePropertyName(k);
                    Write(w, x, depth + 1);
                }

                w.WriteEndObject();
                break;
        }
    }
}
