using System.Text.Json;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace EventGateway.Model.Manifests;

/// <summary>
/// Converts YAML documents to JSON text with YAML 1.2 core-schema scalar typing, and remembers
/// the line of every JSON path so validation errors can point into the user's file.
/// </summary>
public static class YamlToJson
{
    public sealed record Document(int Index, int Line, byte[] Json, IReadOnlyDictionary<string, int> Lines);

    /// <summary>A YAML syntax error, with the (zero-based) document it was found in.</summary>
    public sealed class SyntaxError(int document, YamlException inner) : Exception(inner.Message, inner)
    {
        public int Document { get; } = document;
        public YamlException Yaml { get; } = inner;
    }

    public static List<Document> Convert(string yaml)
    {
        var index = 0;
        try
        {
            return Convert(yaml, ref index);
        }
        catch (YamlException e)
        {
            throw new SyntaxError(index, e);
        }
    }

    private static List<Document> Convert(string yaml, ref int index)
    {
        var parser = new Parser(new StringReader(yaml));
        var docs = new List<Document>();
        parser.Consume<StreamStart>();
        while (parser.TryConsume<DocumentStart>(out var start))
        {
            var buffer = new MemoryStream();
            var lines = new Dictionary<string, int>();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                if (parser.Accept<DocumentEnd>(out _)) writer.WriteNullValue();
                else WriteNode(parser, writer, "$", lines, new Dictionary<string, (byte[] Json, int Line)>());
            }
            parser.Consume<DocumentEnd>();
            var json = buffer.ToArray();
            // An empty document ("---" with nothing after it) is not a manifest; skip it as kubectl does.
            if (json is not [(byte)'n', (byte)'u', (byte)'l', (byte)'l'])
                docs.Add(new Document(index, (int)start.Start.Line, json, lines));
            index++;
        }
        return docs;
    }

    private static void WriteNode(IParser parser, Utf8JsonWriter w, string path, Dictionary<string, int> lines, Dictionary<string, (byte[], int)> anchors)
    {
        var ev = parser.Current!;
        lines.TryAdd(path, (int)ev.Start.Line);
        switch (ev)
        {
            case AnchorAlias alias:
                parser.MoveNext();
                if (!anchors.TryGetValue(alias.Value.Value, out var anchored))
                    throw new YamlException(alias.Start, alias.End, $"unknown alias '*{alias.Value.Value}'");
                w.WriteRawValue(anchored.Item1, skipInputValidation: true);
                return;
            case Scalar scalar:
                parser.MoveNext();
                WriteScalar(w, scalar);
                Remember(scalar.Anchor, scalar, anchors);
                return;
            case SequenceStart seq:
            {
                parser.MoveNext();
                w.WriteStartArray();
                var i = 0;
                while (!parser.TryConsume<SequenceEnd>(out _))
                    WriteNode(parser, w, $"{path}[{i++}]", lines, anchors);
                w.WriteEndArray();
                if (!seq.Anchor.IsEmpty) throw new YamlException(seq.Start, seq.End, "anchors on lists are not supported; anchor the items instead");
                return;
            }
            case MappingStart map:
            {
                parser.MoveNext();
                w.WriteStartObject();
                var seen = new HashSet<string>(StringComparer.Ordinal);
                while (!parser.TryConsume<MappingEnd>(out _))
                {
                    var keyEvent = parser.Consume<Scalar>();
                    var key = keyEvent.Value;
                    if (key == "<<") throw new YamlException(keyEvent.Start, keyEvent.End, "YAML merge keys (<<) are not supported");
                    if (!seen.Add(key)) throw new YamlException(keyEvent.Start, keyEvent.End, $"duplicate key '{key}'");
                    w.WritePropertyName(key);
                    WriteNode(parser, w, ChildPath(path, key), lines, anchors);
                }
                w.WriteEndObject();
                if (!map.Anchor.IsEmpty) throw new YamlException(map.Start, map.End, "anchors on mappings are not supported; anchor scalars instead");
                return;
            }
            default:
                throw new YamlException(ev.Start, ev.End, $"unexpected YAML event {ev.GetType().Name}");
        }
    }

    private static readonly System.Buffers.SearchValues<char> Special = System.Buffers.SearchValues.Create(".' /\"[]()\t\n\r\f\b\\\u0085\u2028\u2029");

    /// <summary>A child path spelled as System.Text.Json spells it in errors, so both can be matched.</summary>
    private static string ChildPath(string parent, string key) =>
        key.AsSpan().IndexOfAny(Special) >= 0 ? $"{parent}['{key.Replace("'", "\\'", StringComparison.Ordinal)}']" : $"{parent}.{key}";

    private static void Remember(YamlDotNet.Core.AnchorName anchor, Scalar scalar, Dictionary<string, (byte[], int)> anchors)
    {
        if (anchor.IsEmpty) return;
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer)) WriteScalar(w, scalar);
        anchors[anchor.Value] = (buffer.ToArray(), (int)scalar.Start.Line);
    }

    private static void WriteScalar(Utf8JsonWriter w, Scalar s)
    {
        var v = s.Value;
        if (s.Style == ScalarStyle.Plain && s.Tag.IsEmpty)
        {
            switch (v)
            {
                case "" or "~" or "null" or "Null" or "NULL": w.WriteNullValue(); return;
                case "true" or "True" or "TRUE": w.WriteBooleanValue(true); return;
                case "false" or "False" or "FALSE": w.WriteBooleanValue(false); return;
            }
            if (IsJsonNumber(v)) { w.WriteRawValue(v, skipInputValidation: true); return; }
        }
        w.WriteStringValue(v);
    }

    /// <summary>YAML 1.2 core-schema integers and floats that are also valid JSON numbers.</summary>
    private static bool IsJsonNumber(string v)
    {
        var i = 0;
        if (i < v.Length && (v[i] == '-' || v[i] == '+')) i++;
        if (i < v.Length && v[i] == '+') return false;
        var start = i;
        if (i >= v.Length || !char.IsAsciiDigit(v[i])) return false;
        // JSON forbids leading zeros ("007" stays a string, as Kubernetes would read an octal-looking value).
        if (v[i] == '0' && i + 1 < v.Length && char.IsAsciiDigit(v[i + 1])) return false;
        while (i < v.Length && char.IsAsciiDigit(v[i])) i++;
        if (i < v.Length && v[i] == '.')
        {
            i++;
            if (i >= v.Length || !char.IsAsciiDigit(v[i])) return false;
            while (i < v.Length && char.IsAsciiDigit(v[i])) i++;
        }
        if (i < v.Length && (v[i] == 'e' || v[i] == 'E'))
        {
            i++;
            if (i < v.Length && (v[i] == '+' || v[i] == '-')) i++;
            if (i >= v.Length || !char.IsAsciiDigit(v[i])) return false;
            while (i < v.Length && char.IsAsciiDigit(v[i])) i++;
        }
        return i == v.Length && i > start && v[0] != '+';
    }
}
