using System.Text.Json.Nodes;
using EventGateway.Languages.Tags;

namespace EventGateway.Workflows.Controller;

/// <summary>
/// The variables visible where a template field is rendered: workflow globals, the template's
/// inputs, outputs of earlier steps or tasks, and the loop item. Scopes chain to their parent
/// so a child sees what its caller sees without copying.
/// </summary>
public sealed class VariableScope
{
    private readonly VariableScope? _parent;
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private HashSet<string>? _absent;
    private JsonNode? _item;

    public VariableScope(VariableScope? parent = null) => _parent = parent;

    public string? this[string name]
    {
        get => Lookup(name);
        set
        {
            if (value is null) _values.Remove(name);
            else _values[name] = value;
            _absent?.Remove(name);
        }
    }

    /// <summary>
    /// An output of a step or task that never ran (Skipped, Omitted) and declares no default: not a value, and
    /// not an empty string either. A tag naming it stays unresolved; an expression sees nil, so <c>??</c> applies.
    /// </summary>
    public void MarkAbsent(string name)
    {
        _values.Remove(name);
        (_absent ??= new HashSet<string>(StringComparer.Ordinal)).Add(name);
    }

    public bool IsAbsent(string name)
    {
        for (var s = this; s is not null; s = s._parent)
        {
            if (s._values.ContainsKey(name)) return false;
            if (s._absent?.Contains(name) == true) return true;
        }
        return false;
    }

    public void SetItem(JsonNode? item)
    {
        _item = item;
        _values["item"] = item is JsonValue v && v.TryGetValue<string>(out var s) ? s : item?.ToJsonString() ?? "";
        if (item is JsonObject o)
            foreach (var (k, val) in o)
                _values[$"item.{k}"] = val is JsonValue jv && jv.TryGetValue<string>(out var str) ? str : val?.ToJsonString() ?? "";
    }

    public string? Lookup(string name)
    {
        for (var s = this; s is not null; s = s._parent)
        {
            if (s._values.TryGetValue(name, out var v)) return v;
            if (s._absent?.Contains(name) == true) return null;
        }
        return null;
    }

    /// <summary>Renders {{...}} tags. Unresolved plain tags are left verbatim: a later stage may know them.</summary>
    public string Render(string text) =>
        text.Contains("{{", StringComparison.Ordinal) ? TagSubstitution.Render(text, Lookup, ExpressionEnv, strict: false) : text;

    /// <summary>Renders and insists every tag resolves (the last stage before a step runs).</summary>
    public string RenderStrict(string text) =>
        text.Contains("{{", StringComparison.Ordinal) ? TagSubstitution.Render(text, Lookup, ExpressionEnv, strict: true) : text;

    /// <summary>Flattened variables for expression tags; the loop item keeps its JSON shape.</summary>
    public IReadOnlyDictionary<string, object?> ExpressionEnv()
    {
        var env = new Dictionary<string, object?>(StringComparer.Ordinal);
        var chain = new List<VariableScope>();
        for (var s = this; s is not null; s = s._parent) chain.Add(s);
        for (var i = chain.Count - 1; i >= 0; i--)
        {
            foreach (var (k, v) in chain[i]._values) env[k] = v;
            foreach (var k in chain[i]._absent ?? []) env[k] = null;
            if (chain[i]._item is { } item)
            {
                foreach (var key in env.Keys.Where(k => k.StartsWith("item.", StringComparison.Ordinal)).ToList()) env.Remove(key);
                env["item"] = ToPlain(item);
            }
        }
        return env;
    }

    internal static object? ToPlain(JsonNode? node) => node switch
    {
        null => null,
        JsonObject o => o.ToDictionary(p => p.Key, p => ToPlain(p.Value)),
        JsonArray a => a.Select(ToPlain).ToList(),
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonValue v when v.TryGetValue<bool>(out var b) => b,
        JsonValue v when v.TryGetValue<long>(out var l) => l,
        JsonValue v when v.TryGetValue<double>(out var d) => d,
        _ => node.ToJsonString(),
    };
}
