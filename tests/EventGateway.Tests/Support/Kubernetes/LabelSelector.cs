using System.Text.Json.Nodes;

namespace EventGateway.Tests.Support.Kubernetes;

/// <summary>
/// A Kubernetes label selector as the API server parses <c>labelSelector=</c>: comma-separated requirements, each
/// equality-based (<c>a=b</c>, <c>a==b</c>, <c>a!=b</c>), set-based (<c>a in (x,y)</c>, <c>a notin (x)</c>) or existence
/// (<c>a</c>, <c>!a</c>). A requirement that does not parse is refused with the reason (the server answers 400).
/// </summary>
public sealed class LabelSelector
{
    private readonly List<Func<IReadOnlyDictionary<string, string>, bool>> _requirements = [];

    public static LabelSelector Everything { get; } = new();

    public static LabelSelector Parse(string? text)
    {
        var selector = new LabelSelector();
        if (string.IsNullOrWhiteSpace(text)) return selector;
        foreach (var raw in SplitTopLevel(text))
        {
            var r = raw.Trim();
            if (r.Length == 0) throw new FormatException($"empty requirement in label selector '{text}'");
            var words = r.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (words.Length == 2 && (words[1].StartsWith("in ", StringComparison.Ordinal) || words[1].StartsWith("in(", StringComparison.Ordinal)
                || words[1].StartsWith("notin", StringComparison.Ordinal)))
            {
                var negate = words[1].StartsWith("notin", StringComparison.Ordinal);
                var set = words[1][(negate ? 5 : 2)..].Trim();
                if (!set.StartsWith('(') || !set.EndsWith(')')) throw new FormatException($"label selector '{text}': expected a parenthesised set after {(negate ? "notin" : "in")} in '{r}'");
                var values = set[1..^1].Split(',', StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
                var key = CheckKey(words[0], text);
                selector._requirements.Add(negate
                    ? labels => !labels.TryGetValue(key, out var v) || !values.Contains(v)
                    : labels => labels.TryGetValue(key, out var v) && values.Contains(v));
            }
            else if (r.Contains("!=", StringComparison.Ordinal))
            {
                var (key, value) = Pair(r, "!=", text);
                selector._requirements.Add(labels => !labels.TryGetValue(key, out var v) || v != value);
            }
            else if (r.Contains("==", StringComparison.Ordinal) || r.Contains('='))
            {
                var (key, value) = Pair(r, r.Contains("==", StringComparison.Ordinal) ? "==" : "=", text);
                selector._requirements.Add(labels => labels.TryGetValue(key, out var v) && v == value);
            }
            else if (r.StartsWith('!'))
            {
                var key = CheckKey(r[1..].Trim(), text);
                selector._requirements.Add(labels => !labels.ContainsKey(key));
            }
            else
            {
                var key = CheckKey(r, text);
                selector._requirements.Add(labels => labels.ContainsKey(key));
            }
        }
        return selector;
    }

    private readonly List<Func<JsonObject, bool>> _fields = [];

    public bool Matches(JsonObject obj)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (obj["metadata"]?["labels"] is JsonObject l)
            foreach (var (k, v) in l) if (v is not null) labels[k] = v.GetValue<string>();
        return _requirements.All(r => r(labels)) && _fields.All(f => f(obj));
    }

    /// <summary>
    /// Adds a <c>fieldSelector=</c>: <c>metadata.name</c> and <c>metadata.namespace</c> with =, == or != (the fields
    /// every kind supports); any other field is refused as the API server refuses a field the kind does not index.
    /// </summary>
    public LabelSelector WithFields(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return this;
        var copy = new LabelSelector();
        copy._requirements.AddRange(_requirements);
        copy._fields.AddRange(_fields);
        foreach (var raw in text.Split(',', StringSplitOptions.TrimEntries))
        {
            var negate = raw.Contains("!=", StringComparison.Ordinal);
            var op = negate ? "!=" : raw.Contains("==", StringComparison.Ordinal) ? "==" : "=";
            var i = raw.IndexOf(op, StringComparison.Ordinal);
            if (i <= 0) throw new FormatException($"invalid field selector '{raw}': expected FIELD=VALUE");
            var (field, value) = (raw[..i].Trim(), raw[(i + op.Length)..].Trim());
            if (field is not ("metadata.name" or "metadata.namespace"))
                throw new FormatException($"field label not supported: {field}");
            var name = field["metadata.".Length..];
            copy._fields.Add(o => (o["metadata"]?[name]?.GetValue<string>() == value) != negate);
        }
        return copy;
    }

    private static (string, string) Pair(string r, string op, string text)
    {
        var i = r.IndexOf(op, StringComparison.Ordinal);
        return (CheckKey(r[..i].Trim(), text), r[(i + op.Length)..].Trim());
    }

    private static string CheckKey(string key, string text)
    {
        if (key.Length == 0 || key.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '/')))
            throw new FormatException($"label selector '{text}': '{key}' is not a valid label key");
        return key;
    }

    private static IEnumerable<string> SplitTopLevel(string text)
    {
        var depth = 0;
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '(') depth++;
            else if (text[i] == ')') depth--;
            else if (text[i] == ',' && depth == 0)
            {
                yield return text[start..i];
                start = i + 1;
            }
        }
        yield return text[start..];
    }
}
