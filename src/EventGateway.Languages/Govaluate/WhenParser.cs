using EventGateway.Languages.Expr;

namespace EventGateway.Languages.Govaluate;

/// <summary>
/// Recursive-descent parser for govaluate, lowest precedence first: ternary (<c>? :</c>, <c>??</c>),
/// <c>||</c>, <c>&amp;&amp;</c>, comparators (<c>== != &lt; &gt; &lt;= &gt;= =~ !~ in</c>), <c>+ -</c>,
/// <c>* / %</c>, <c>**</c>, prefix <c>- !</c>, then values and parentheses.
/// </summary>
internal sealed class WhenParser
{
    private static readonly string[] Comparators = ["==", "!=", ">", "<", ">=", "<=", "=~", "!~", "in"];

    private readonly List<WhenToken> tokens;
    private int index;
    private int depth;

    private WhenParser(List<WhenToken> tokens)
    {
        this.tokens = tokens;
    }

    private WhenToken Current => tokens[index];

    public static WhenNode Parse(string text)
    {
        var parser = new WhenParser(WhenLexer.Tokenize(text));
        var node = parser.ParseTernary();
        return parser.Current.Kind == WhenTokenKind.End ? node : throw parser.Unexpected();
    }

    private WhenNode ParseTernary()
    {
        Enter();
        try
        {
            return ParseTernaryCore();
        }
        finally
        {
            depth--;
        }
    }

    private WhenNode ParseTernaryCore()
    {
        var node = ParseOr();
        while (true)
        {
            var token = Current;
            if (IsOperator("?"))
            {
                index++;
                var whenTrue = ParseOr();
                Expect(":");
                node = new WhenTernary(token.Position, node, whenTrue, ParseOr());
            }
            else if (IsOperator("??"))
            {
                index++;
                node = new WhenCoalesce(token.Position, node, ParseOr());
            }
            else
            {
                return node;
            }
        }
    }

    private WhenNode ParseOr()
    {
        var node = ParseAnd();
        while (IsOperator("||"))
        {
            var position = Current.Position;
            index++;
            node = new WhenLogical(position, isAnd: false, node, ParseAnd());
        }

        return node;
    }

    private WhenNode ParseAnd()
    {
        var node = ParseComparison();
        while (IsOperator("&&"))
        {
            var position = Current.Position;
            index++;
            node = new WhenLogical(position, isAnd: true, node, ParseComparison());
        }

        return node;
    }

    private WhenNode ParseComparison() => ParseBinaryLevel(Comparators, ParseAdditive);

    private WhenNode ParseAdditive() => ParseBinaryLevel(["+", "-"], ParseMultiplicative);

    private WhenNode ParseMultiplicative() => ParseBinaryLevel(["*", "/", "%"], ParseExponent);

    private WhenNode ParseExponent() => ParseBinaryLevel(["**"], ParsePrefix);

    private WhenNode ParseBinaryLevel(string[] operators, Func<WhenNode> next)
    {
        var node = next();
        while (Current.Kind == WhenTokenKind.Operator && operators.Contains((string)Current.Value!))
        {
            var token = Current;
            index++;
            node = new WhenBinary(token.Position, (string)token.Value!, node, next());
        }

        return node;
    }

    private WhenNode ParsePrefix()
    {
        var token = Current;
        if (!IsOperator("!") && !IsOperator("-"))
        {
            return ParseValue();
        }

        index++;
        Enter();
        try
        {
            return new WhenUnary(token.Position, token.Text, ParsePrefix());
        }
        finally
        {
            depth--;
        }
    }

    private WhenNode ParseValue()
    {
        var token = Current;
        switch (token.Kind)
        {
            case WhenTokenKind.Number or WhenTokenKind.String or WhenTokenKind.Bool:
                index++;
                return new WhenLiteral(token.Position, token.Value);
            case WhenTokenKind.Accessor:
                index++;
                return new WhenAccessor(token.Position, token.Text);
        }

        if (!IsOperator("("))
        {
            throw Unexpected();
        }

        index++;
        var items = new List<WhenNode> { ParseTernary() };
        while (IsOperator(","))
        {
            index++;
            items.Add(ParseTernary());
        }

        Expect(")");
        return items.Count == 1 ? items[0] : new WhenArray(token.Position, items.ToArray());
    }

    /// <summary>Bounds recursion so deeply nested input fails cleanly instead of overflowing the stack.</summary>
    private void Enter()
    {
        if (++depth > Parser.MaxDepth)
        {
            throw new ExprError($"expression is nested more than {Parser.MaxDepth} levels deep", Current.Position);
        }
    }

    private bool IsOperator(string text) => Current.Kind == WhenTokenKind.Operator && (string)Current.Value! == text;

    private void Expect(string text)
    {
        if (!IsOperator(text))
        {
            throw new ExprError($"expected '{text}' but found {Describe(Current)}", Current.Position);
        }

        index++;
    }

    private ExprError Unexpected() => new($"unexpected {Describe(Current)}", Current.Position);

    private static string Describe(WhenToken token) =>
        token.Kind == WhenTokenKind.End ? "end of expression" : $"'{token.Text}'";
}
