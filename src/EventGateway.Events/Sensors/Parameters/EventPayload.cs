using System.Globalization;
using System.Text;
using System.Text.Json;
using EventGateway.Events.Log;
using EventGateway.Model.Manifests;

namespace EventGateway.Events.Sensors.Parameters;

/// <summary>
/// The JSON documents Argo's parameter resolution reads: the event context as Go marshals v1alpha1.EventContext
/// (lower-case CloudEvents attribute names, time RFC 3339 in UTC to the second, null when unset), the whole event
/// (<c>{"context":...,"data":"&lt;base64&gt;"}</c> because Go marshals []byte as base64) and the data as JSON.
/// </summary>
internal static class EventPayload
{
    public const string Json = "application/json";
    public const string Yaml = "application/yaml";

    public static string Context(CloudEvent e)
    {
        var b = new StringBuilder("{");
        Field(b, "id", e.Id).Append(',');
        Field(b, "source", e.Source).Append(',');
        Field(b, "specversion", e.SpecVersion).Append(',');
        Field(b, "type", e.Type).Append(',');
        Field(b, "datacontenttype", e.DataContentType).Append(',');
        Field(b, "subject", e.Subject).Append(",\"time\":");
        if (e.Time == DateTimeOffset.MinValue)
        {
            b.Append("null"); // Go's zero metav1.Time
        }
        else
        {
            GoQuote(b, e.Time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
        }

        return b.Append('}').ToString();
    }

    public static string WholeEvent(CloudEvent e)
    {
        var b = new StringBuilder("{\"context\":").Append(Context(e)).Append(",\"data\":");
        if (e.Data.IsEmpty)
        {
            b.Append("null");
        }
        else
        {
            GoQuote(b, Convert.ToBase64String(e.Data.Span));
        }

        return b.Append('}').ToString();
    }

    /// <summary>The data as JSON, or the reason Argo gives for not having it (content type decides, exactly matched).</summary>
    public static byte[]? Data(CloudEvent e, out string? error)
    {
        error = null;
        switch (e.DataContentType)
        {
            case Json:
                if (IsJson(e.Data))
                {
                    return e.Data.ToArray();
                }

                error = "event data is not valid JSON";
                return null;
            case Yaml:
                try
                {
                    var docs = YamlToJson.Convert(Encoding.UTF8.GetString(e.Data.Span));
                    if (docs.Count > 0)
                    {
                        return docs[0].Json;
                    }

                    error = "failed converting yaml event data to JSON: no document";
                    return null;
                }
                catch (YamlToJson.SyntaxError ex)
                {
                    error = $"failed converting yaml event data to JSON: {ex.Message}";
                    return null;
                }
            default:
                error = $"unsupported event content type: {e.DataContentType}";
                return null;
        }
    }

    private static bool IsJson(ReadOnlyMemory<byte> data)
    {
        try
        {
            using var _ = JsonDocument.Parse(data); // rejects trailing content, as Go's json.Unmarshal does
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static StringBuilder Field(StringBuilder b, string name, string value)
    {
        b.Append('"').Append(name).Append("\":");
        return GoQuote(b, value);
    }

    /// <summary>Go's encoding/json string form: HTML characters and U+2028/9 escaped, other non-ASCII kept.</summary>
    internal static StringBuilder GoQuote(StringBuilder b, string s)
    {
        b.Append('"');
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            switch (c)
            {
                case '"': b.Append("\\\""); break;
                case '\\': b.Append("\\\\"); break;
                case '\n': b.Append("\\n"); break;
                case '\r': b.Append("\\r"); break;
                case '\t': b.Append("\\t"); break;
                case '\b': b.Append("\\b"); break;
                case '\f': b.Append("\\f"); break;
                case '<' or '>' or '&' or '\u2028' or '\u2029':
                    b.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    break;
                case < ' ':
                    b.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    break;
                default:
                    if (char.IsSurrogate(c) && !(char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])))
                    {
                        b.Append("\\ufffd"); // Go replaces invalid UTF-8 (a lone surrogate here)
                    }
                    else if (char.IsHighSurrogate(c))
                    {
                        b.Append(c).Append(s[++i]);
                    }
                    else
                    {
                        b.Append(c);
                    }

                    break;
            }
        }

        return b.Append('"');
    }
}
