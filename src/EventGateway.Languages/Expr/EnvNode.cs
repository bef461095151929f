using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace EventGateway.Languages.Expr;

/// <summary>
/// One level of the nested view over Argo's flat variable map ("inputs.parameters.x" -> inputs/parameters/x).
/// Argo drops a key that is also a prefix of another key; here a node keeps both, so
/// <c>inputs.parameters</c> (the JSON leaf) and <c>inputs.parameters.x</c> (the child) both resolve.
/// The view is lazy: a lookup is one exact-key probe plus a prefix scan, and a level's key set is only
/// built when something enumerates it, because callers rebuild the flat map for every step.
/// </summary>
internal sealed class EnvNode : IReadOnlyDictionary<string, object?>
{
    private readonly IReadOnlyDictionary<string, object?> flat;
    private Dictionary<string, object?>? children;

    private EnvNode(IReadOnlyDictionary<string, object?> flat, string path, bool hasLeaf, object? leaf)
    {
        this.flat = flat;
        Path = path;
        HasLeaf = hasLeaf;
        Leaf = leaf;
    }

    /// <summary>Dotted path from the root, used to name missing variables in errors.</summary>
    public string Path { get; }

    public bool HasLeaf { get; }

    public object? Leaf { get; }

    public int Count => Children.Count;

    public IEnumerable<string> Keys => Children.Keys;

    public IEnumerable<object?> Values => Children.Values.Select(CollapseChild);

    private Dictionary<string, object?> Children => children ??= Materialize();

    public object? this[string key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException(key);

    public static EnvNode Root(IReadOnlyDictionary<string, object?> flat) => new(flat, string.Empty, false, null);

    /// <summary>The value a path ending here denotes: the leaf wins over the children.</summary>
    public object? Collapse() => HasLeaf ? Expr.Values.Normalize(Leaf) : this;

    /// <summary>
    /// Raw child: a node when deeper keys exist, else the plain value. Falls back to the leaf when the leaf
    /// is itself a map (e.g. <c>item</c> given as a map).
    /// </summary>
    public bool TryGetChild(string key, out object? child)
    {
        if (children is not null)
        {
            if (children.TryGetValue(key, out child))
            {
                return true;
            }
        }
        else if (Resolve(ChildPath(key), out child))
        {
            return true;
        }

        if (HasLeaf && Expr.Values.AsMap(Leaf) is { } map && map.TryGetValue(key, out child))
        {
            return true;
        }

        child = null;
        return false;
    }

    /// <summary>A plain, self-contained copy, so results handed to callers do not keep the env alive.</summary>
    public Dictionary<string, object?> Detach()
    {
        var copy = new Dictionary<string, object?>(Children.Count, StringComparer.Ordinal);
        foreach (var (key, child) in Children)
        {
            copy[key] = child is EnvNode { HasLeaf: false } node ? node.Detach() : CollapseChild(child);
        }

        return copy;
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
        Children.Select(kv => new KeyValuePair<string, object?>(kv.Key, CollapseChild(kv.Value))).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private static object? CollapseChild(object? child) => child is EnvNode node ? node.Collapse() : child;

    private bool Resolve(string path, out object? child)
    {
        var hasLeaf = flat.TryGetValue(path, out var leaf);
        if (HasDescendants(path))
        {
            child = new EnvNode(flat, path, hasLeaf, leaf);
            return true;
        }

        child = leaf;
        return hasLeaf;
    }

    private bool HasDescendants(string path)
    {
        foreach (var key in flat.Keys)
        {
            if (key.Length > path.Length && key[path.Length] == '.' && key.StartsWith(path, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Builds this level's children in one pass over the flat keys.</summary>
    private Dictionary<string, object?> Materialize()
    {
        var deeper = new HashSet<string>(StringComparer.Ordinal);
        var segments = new List<string>();
        var prefixLength = Path.Length == 0 ? 0 : Path.Length + 1;
        foreach (var key in flat.Keys)
        {
            if (prefixLength > 0 && !(key.Length > Path.Length && key[Path.Length] == '.' && key.StartsWith(Path, StringComparison.Ordinal)))
            {
                continue;
            }

            var dot = key.IndexOf('.', prefixLength);
            var segment = dot < 0 ? key[prefixLength..] : key[prefixLength..dot];
            segments.Add(segment);
            if (dot >= 0)
            {
                deeper.Add(segment);
            }
        }

        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var segment in segments)
        {
            if (result.ContainsKey(segment))
            {
                continue;
            }

            var path = ChildPath(segment);
            var hasLeaf = flat.TryGetValue(path, out var leaf);
            result[segment] = deeper.Contains(segment) ? new EnvNode(flat, path, hasLeaf, leaf) : leaf;
        }

        return result;
    }
}
