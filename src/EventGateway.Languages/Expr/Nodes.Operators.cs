namespace EventGateway.Languages.Expr;

internal sealed class BinaryNode(int position, BinaryOp op, Node left, Node right) : Node(position)
{
    public override object? Eval(EvalContext ctx)
    {
        var l = left.Eval(ctx);

        // 'in' looks at the raw right side so "'x' in inputs.parameters" sees the children of a leaf+prefix key.
        var r = op == BinaryOp.In ? right.EvalRaw(ctx) : right.Eval(ctx);
        try
        {
            return Operators.Apply(op, l, r);
        }
        catch (ExprError e) when (e.Position < 0)
        {
            throw e.At(Position);
        }
    }
}

internal enum UnaryOp
{
    Not,
    Negate,
    Plus,
}

internal sealed class UnaryNode(int position, UnaryOp op, Node operand) : Node(position)
{
    public override object? Eval(EvalContext ctx)
    {
        var value = operand.Eval(ctx);
        try
        {
            return op switch
            {
                UnaryOp.Not => !Operators.Bool(value, "operator 'not'"),
                UnaryOp.Negate => Operators.Negate(value),
                _ => Operators.Plus(value),
            };
        }
        catch (ExprError e) when (e.Position < 0)
        {
            throw e.At(Position);
        }
    }
}

/// <summary><c>&amp;&amp;</c> / <c>||</c> with short-circuiting; both sides must be bool.</summary>
internal sealed class LogicalNode(int position, bool isAnd, Node left, Node right) : Node(position)
{
    public override object? Eval(EvalContext ctx)
    {
        var name = isAnd ? "operator '&&'" : "operator '||'";
        try
        {
            var l = Operators.Bool(left.Eval(ctx), name);
            if (l != isAnd)
            {
                return l;
            }

            return Operators.Bool(right.Eval(ctx), name);
        }
        catch (ExprError e) when (e.Position < 0)
        {
            throw e.At(Position);
        }
    }
}

/// <summary>
/// <c>a ?? b</c>. An undefined variable on the left counts as nil, which is how Argo users write defaults
/// (<c>inputs.parameters.x ?? 'fallback'</c>).
/// </summary>
internal sealed class CoalesceNode(int position, Node left, Node right) : Node(position)
{
    public override object? Eval(EvalContext ctx)
    {
        object? value;
        try
        {
            value = left.Eval(ctx);
        }
        catch (ExprError e) when (e.Unresolved)
        {
            value = null;
        }

        return value ?? right.Eval(ctx);
    }
}
