namespace EventGateway.Languages.Expr;

/// <summary>
/// A variable reference such as <c>inputs.parameters['my-param']</c>: an identifier followed by constant
/// member names, folded at parse time. As a final value the joined dotted key is tried against the flat map
/// first, so the common case is one dictionary lookup and a key that is also a prefix yields its own value.
/// </summary>
internal sealed class PathNode(int position, string[] segments) : Node(position)
{
    public string[] Segments { get; } = segments;

    public string Key { get; } = string.Join('.', segments);

    public PathNode Append(string segment) => new(Position, [.. Segments, segment]);

    public override object? Eval(EvalContext ctx) =>
        Values.Normalize(ctx.Flat.TryGetValue(Key, out var exact) ? exact : EvalRaw(ctx));

    /// <summary>Walks the nested view, so a following access can reach children even of a key that has a value.</summary>
    public override object? EvalRaw(EvalContext ctx)
    {
        object? current = ctx.Tree;
        foreach (var segment in Segments)
        {
            // Below a plain value (e.g. a map given as "item") the walk continues as ordinary member access.
            var found = current is EnvNode node
                ? node.TryGetChild(segment, out current)
                : Values.AsMap(current) is { } map && map.TryGetValue(segment, out current);
            if (!found)
            {
                throw ExprError.UnknownName(Key, Position);
            }
        }

        return current;
    }
}

/// <summary><c>target.name</c>, <c>target[key]</c> and their optional <c>?.</c> forms.</summary>
internal sealed class IndexNode(int position, Node target, Node key, bool optional) : Node(position)
{
    public override object? Eval(EvalContext ctx) => Values.Normalize(EvalRaw(ctx));

    public override object? EvalRaw(EvalContext ctx)
    {
        var container = target.EvalRaw(ctx);
        if (container is ChainNil)
        {
            return container;
        }

        if (container is null && optional)
        {
            return ChainNil.Instance;
        }

        var k = key.Eval(ctx);
        try
        {
            return Access.Get(container, k, optional);
        }
        catch (ExprError e) when (e.Position < 0)
        {
            throw e.At(Position);
        }
    }
}

internal sealed class SliceNode(int position, Node target, Node? from, Node? to) : Node(position)
{
    public override object? Eval(EvalContext ctx)
    {
        var container = target.EvalRaw(ctx);
        if (container is ChainNil)
        {
            return container;
        }

        try
        {
            return Access.Slice(container, from?.Eval(ctx), to?.Eval(ctx));
        }
        catch (ExprError e) when (e.Position < 0)
        {
            throw e.At(Position);
        }
    }
}
