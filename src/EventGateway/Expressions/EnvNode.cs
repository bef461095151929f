using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace EventGateway.Expressions;

/// <summary>
/// One level of the nested view over Argo's flat variable map ("inputs.parameters.x" -> inputs/parameters/x).
/// Argo drops a key that is also a prefix of another key; here a node keeps both, so
/// <c>inputs.parameters</c> (the JSON leaf) and <c>inputs.parameters.x</c> (the child) both resolve.
/// </summary>
internal sealed class EnvNode : IReadOnlyDictionary<string, object?>
{
    private readonly Dictionary<string, object?> children = new(StringComparer.Ordinal);

    private EnvNode(string path)
    {
        Path = path;
    }

    /// <summary>Dotted path from the root, used to name missing variables in errors.</summary>
    public string Path { get; }

    public bool HasLeaf { get; private set; }

    public object? Leaf { get; private set; }

    public int Count => children.Count;

    public IEnumerable<string> Keys => children.Keys;

    public IEnumerable<object?> Values => children.Values.Select(CollapseChild);

    public object? this[string key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException(key);

    public static EnvNode Build(IReadOnlyDictionary<string, object?> flat)
    {
        var root = new EnvNode(string.Empty);
        foreach (var (key, value) in flat)
        {
            root.Insert(key, value);
        }

        return root;
    }

    /// <summary>The value a path ending here denotes: the leaf wins over the children.</summary>
    public object? Collapse() => HasLeaf ? EventGateway.Expressions.Values.Normalize(Leaf) : this;

    /// <summary>Raw child (possibly another node); falls back to the leaf when the leaf is itself a map.</summary>
    public bool TryGetChild(string key, out object? child)
    {
        if (children.TryGetValue(key, out child))
        {
            return true;
        }

        if (HasLeaf && EventGateway.Expressions.Values.AsMap(Leaf) is { } map && map.TryGetValue(key, out child))
        {
            return true;
        }

        child = null;
        return false;
    }

    public string ChildPath(string key) => Path.Length == 0 ? key : Path + "." + key;

    public bool ContainsKey(string key) => TryGetChild(key, out _);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out object? value)
    {
        if (TryGetChild(key, out var child))
        {
            value = CollapseChild(child);
            return true;
        }

        value = null;
        return false;
    }

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() =>
        children.Select(kv => new KeyValuePair<string, object?>(kv.Key, CollapseChild(kv.Value))).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private static object? CollapseChild(object? child) => child is EnvNode node ? node.Collapse() : child;

    private void Insert(string key, object? value)
    {
        var node = this;
        var start = 0;
        while (true)
        {
            var dot = key.IndexOf('.', start);
            if (dot < 0)
            {
                node.SetChildLeaf(key[start..], value);
                return;
            }

            node = node.ChildNode(key[start..dot]);
            start = dot + 1;
        }
    }

    private EnvNode ChildNode(string segment)
    {
        if (children.TryGetValue(segment, out var existing) && existing is EnvNode node)
        {
            return node;
        }

        node = new EnvNode(ChildPath(segment));
        if (children.ContainsKey(segment))
        {
            // The segment was a plain value so far; keep it as this node's leaf.
            node.HasLeaf = true;
            node.Leaf = existing;
        }

        children[segment] = node;
        return node;
    }

    private void SetChildLeaf(string segment, object? value)
    {
        if (children.TryGetValue(segment, out var existing) && existing is EnvNode node)
        {
            node.HasLeaf = true;
            node.Leaf = value;
        }
        else
        {
            children[segment] = value;
        }
    }
}
