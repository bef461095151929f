namespace EventGateway.Languages.Expr;

/// <summary>Call of a builtin or sprig function with eagerly evaluated arguments.</summary>
internal sealed class CallNode(int position, Builtin function, Node[] arguments) : Node(position)
{
    public override object? Eval(EvalContext ctx)
    {
        var values = new object?[arguments.Length];
        for (var i = 0; i < arguments.Length; i++)
        {
            values[i] = arguments[i].Eval(ctx);
        }

        try
        {
            return function.Invoke(values);
        }
        catch (ExprError e) when (e.Position < 0)
        {
            throw e.At(Position);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or OverflowException or InvalidOperationException or System.Text.RegularExpressions.RegexMatchTimeoutException)
        {
            throw new ExprError($"{function.Name}: {e.Message}", Position);
        }
    }
}

/// <summary>
/// Call of a predicate function (<c>filter(list, # &gt; 1)</c>): the predicate is re-evaluated per element
/// with <c>#</c>, <c>#index</c> and <c>.field</c> bound to that element.
/// </summary>
internal sealed class PredicateCallNode(int position, PredicateFunction function, Node source, Node? predicate) : Node(position)
{
    public override object? Eval(EvalContext ctx)
    {
        var value = source.Eval(ctx);
        var items = Values.AsList(value)
            ?? throw new ExprError($"{PredicateFunctions.Name(function)}: first argument must be an array, got {Values.TypeName(value)}", Position);
        try
        {
            return PredicateFunctions.Run(function, items, predicate is null ? null : (item, index) => Apply(ctx, item, index));
        }
        catch (ExprError e) when (e.Position < 0)
        {
            throw e.At(Position);
        }
    }

    private object? Apply(EvalContext ctx, object? item, int index)
    {
        var saved = ctx.Bind(item, index);
        try
        {
            return predicate!.Eval(ctx);
        }
        finally
        {
            ctx.Restore(saved);
        }
    }
}
