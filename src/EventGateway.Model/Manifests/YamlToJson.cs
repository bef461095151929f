using System.Text.Json;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace EventGateway.Model.Manifests;

/// <summary>
/// Converts YAML documents to JSON text with YAML 1.2 core-schema scalar typing, and remembers
/// the line of every JSON path so validation errors can point into the user's file.
/// Input is bounded before it is expanded: text size, nesting depth, alias uses and the bytes aliases expand to
/// are counted while converting and refused with a <see cref="LimitExceeded"/> before anything grows past them.
/// </summary>
public static class YamlToJson
{
    /// <summary>Largest manifest text (UTF-8 bytes) converted at all; the API refuses bigger bodies with 413 before reading them.</summary>
    public const int MaxManifestBytes = 4 * 1024 * 1024;

    /// <summary>Deepest nesting of lists and mappings; Kubernetes objects are a few dozen levels deep.</summary>
    public const int MaxDepth = 256;

    /// <summary>Alias uses (*name) per document: a "billion laughs" document is refused at the first one over.</summary>
    public const int MaxAliases = 10_000;

    /// <summary>Bytes that alias uses add to one document's JSON, counted before each alias is copied.</summary>
    public const int MaxAliasBytes = 16 * 1024 * 1024;

    public sealed record Document(int Index, int Line, byte[] Json, IReadOnlyDictionary<string, int> Lines);

    /// <summary>A document over one of the limits above; <see cref="Reason"/> names the limit and its value.</summary>
    public sealed class LimitExceeded(Mark start, Mark end, string reason) : YamlException(start, end, reason)
    {
        public string Reason { get; } = reason;
    }

    /// <summary>What one document has spent of its alias budget.</summary>
    private sealed class Budget
    {
        public int Aliases;
        public long AliasBytes;
    }

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
            // Characters first: a string longer than the byte cap cannot fit it, and counting bytes of a huge one costs.
            if (yaml.Length > MaxManifestBytes || System.Text.Encoding.UTF8.GetByteCount(yaml) > MaxManifestBytes)
                throw new LimitExceeded(Mark.Empty, Mark.Empty, $"manifest is larger than {MaxManifestBytes} bytes (the limit of one manifest)");
            try { return Convert(yaml, ref index); }
            catch (YamlException first) when (IndentQuotedContinuation(yaml, first) is { } lenient)
            {
                // go-yaml's leniency as far as it goes; an error it does not cure is reported as first found.
                for (var fixes = 1; fixes < MaxIndentFixes; fixes++)
                {
                    var retry = 0;
                    try { return Convert(lenient, ref retry); }
                    catch (YamlException e) when (IndentQuotedContinuation(lenient, e) is { } next) { lenient = next; }
                    catch (YamlException) { break; }
                }
                throw;
            }
        }
        catch (YamlException e)
        {
            throw new SyntaxError(index, e);
        }
    }

    private const int MaxIndentFixes = 256;

    /// <summary>
    /// go-yaml, which Argo reads manifests with, accepts a continuation line of a multi-line quoted scalar indented no
    /// deeper than its key (Argo's own examples close <c>args: ["</c> ... <c>"]</c> that way); YAML 1.2 and YamlDotNet
    /// refuse it. Leading blanks of such a line are folded away, so indenting the line one more space changes no value:
    /// returns the text with the offending line indented, or null for any other error.
    /// </summary>
    private static string? IndentQuotedContinuation(string yaml, YamlException e)
    {
        if (!e.Message.Contains("multi-line", StringComparison.Ordinal) || !e.Message.Contains("quoted scalar, found wrong indentation", StringComparison.Ordinal)) return null;
        var line = (int)e.End.Line; // 1-based: where the scanner stood, on the offending line
        var at = 0;
        for (var n = 1; n < line && at >= 0; n++)
        {
            at = yaml.IndexOf('\n', at);
            if (at >= 0) at++;
        }
        return at < 0 ? null : yaml.Insert(at, " ");
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
                else WriteNode(parser, writer, "$", 0, lines, new Dictionary<string, (byte[] Json, int Line)>(), new Budget());
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

    private static void WriteNode(IParser parser, Utf8JsonWriter w, string path, int depth, Dictionary<string, int> lines, Dictionary<string, (byte[], int)> anchors, Budget budget)
    {
        var ev = parser.Current!;
        if (depth > MaxDepth)
            throw new LimitExceeded(ev.Start, ev.End, $"nested deeper than {MaxDepth} levels (the nesting limit)"); // the path would be as long as the nesting
        lines.TryAdd(path, (int)ev.Start.Line);
        switch (ev)
        {
            case AnchorAlias alias:
                parser.MoveNext();
                if (!anchors.TryGetValue(alias.Value.Value, out var anchored))
                    throw new YamlException(alias.Start, alias.End, $"unknown alias '*{alias.Value.Value}'");
                // Counted before the copy, so a document of a million aliases never allocates their expansion.
                if (++budget.Aliases > MaxAliases)
                    throw new LimitExceeded(alias.Start, alias.End, $"{ToFieldPath(path)}: more than {MaxAliases} alias uses in one document (the alias limit)");
                if ((budget.AliasBytes += anchored.Item1.Length) > MaxAliasBytes)
                    throw new LimitExceeded(alias.Start, alias.End, $"{ToFieldPath(path)}: aliases expand to more than {MaxAliasBytes} bytes in one document (the alias expansion limit)");
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
                    WriteNode(parser, w, $"{path}[{i++}]", depth + 1, lines, anchors, budget);
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
                    WriteNode(parser, w, ChildPath(path, key), depth + 1, lines, anchors, budget);
                }
                w.WriteEndObject();
                if (!map.Anchor.IsEmpty) throw new YamlException(map.Start, map.End, "anchors on mappings are not supported; anchor scalars instead");
                return;
            }
            default:
                throw new YamlException(ev.Start, ev.End, $"unexpected YAML event {ev.GetType().Name}");
        }
    }

    private static string ToFieldPath(string path) => path == "$" ? "(document root)" : path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');

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
