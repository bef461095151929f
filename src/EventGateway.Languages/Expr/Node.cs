namespace EventGateway.Languages.Expr;

/// <summary>Base of the parsed expression tree. Nodes are immutable so parsed trees can be cached and shared.</summary>
internal abstract class Node
{
    protected Node(int position)
    {
        Position = position;
    }

    public int Position { get; }

    public abstract object? Eval(EvalContext ctx);

    /// <summary>
    /// Like <see cref="Eval"/> but may return an <see cref="EnvNode"/> (or <see cref="ChainNil"/>), so the
    /// next member access can still see children of a leaf-and-prefix key or short-circuit a <c>?.</c> chain.
    /// </summary>
    public virtual object? EvalRaw(EvalContext ctx) => Eval(ctx);
}

/// <summary>Marker that a <c>?.</c> met nil: the rest of the chain is skipped and the chain yields nil.</summary>
internal sealed class ChainNil
{
    public static readonly ChainNil Instance = new();

    private ChainNil()
    {
    }
}
