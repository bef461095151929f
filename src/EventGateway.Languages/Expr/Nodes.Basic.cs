namespace EventGateway.Languages.Expr;

internal sealed class ConstantNode(int position, object? value) : Node(position)
{
    public object? Value { get; } = value;

    public override object? Eval(EvalContext ctx) => Value;
}

internal sealed class ArrayNode(int position, Node[] items) : Node(position)
{
    public override object? Eval(EvalContext ctx)
    {
        var list = new List<object?>(items.Length);
        foreach (var item in items)
        {
            list.Add(item.Eval(ctx));
        }

        return list;
    }
}

internal sealed class MapNode(int position, string[] keys, Node[] values) : Node(position)
{
    public override object? Eval(EvalContext ctx)
    {
        var map = new Dictionary<string, object?>(keys.Length, StringComparer.Ordinal);
        for (var i = 0; i < keys.Length; i++)
        {
            map[keys[i]] = values[i].Eval(ctx);
        }

        return map;
    }
}

/// <summary><c>#</c> (the current element) or <c>#index</c> inside a predicate.</summary>
internal sealed class PointerNode(int position, bool index) : Node(position)
{
    public override object? Eval(EvalContext ctx) => index ? ctx.PointerIndex : Values.Normalize(ctx.Pointer);

    public override object? EvalRaw(EvalContext ctx) => index ? ctx.PointerIndex : ctx.Pointer;
}

internal sealed class ConditionalNode(int position, Node condition, Node whenTrue, Node whenFalse) : Node(position)
{
    public override object? Eval(EvalContext ctx)
    {
        var test = condition.Eval(ctx);
        bool holds;
        try
        {
            holds = Operators.Bool(test, "ternary condition");
        }
        catch (ExprError e)
        {
            throw e.At(Position);
        }

        return holds ? whenTrue.Eval(ctx) : whenFalse.Eval(ctx);
    }
}

/// <summary>Wraps a postfix chain containing <c>?.</c> so a nil met on the way yields nil for the whole chain.</summary>
internal sealed class ChainNode(int position, Node inner) : Node(position)
{
    public override object? Eval(EvalContext ctx) => Values.Normalize(EvalRaw(ctx));

    public override object? EvalRaw(EvalContext ctx)
    {
        var value = inner.EvalRaw(ctx);
        return value is ChainNil ? null : value;
    }
}
