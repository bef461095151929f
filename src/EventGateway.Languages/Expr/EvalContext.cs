namespace EventGateway.Languages.Expr;

/// <summary>
/// Per-evaluation state: the caller's flat variables, the nested view built from them on first need, and
/// the element currently bound to <c>#</c> inside a predicate.
/// </summary>
internal sealed class EvalContext
{
    private EnvNode? tree;

    public EvalContext(IReadOnlyDictionary<string, object?> flat)
    {
        Flat = flat;
    }

    public IReadOnlyDictionary<string, object?> Flat { get; }

    /// <summary>Created on first need: most lookups hit an exact flat key and never touch the nested view.</summary>
    public EnvNode Tree => tree ??= EnvNode.Root(Flat);

    public object? Pointer { get; private set; }

    public long PointerIndex { get; private set; }

    public (object? Pointer, long Index) Bind(object? item, long index)
    {
        var saved = (Pointer, PointerIndex);
        Pointer = item;
        PointerIndex = index;
        return saved;
    }

    public void Restore((object? Pointer, long Index) saved)
    {
        Pointer = saved.Pointer;
        PointerIndex = saved.Index;
    }
}
