using System.Collections.Frozen;
using EventGateway.Languages.GoTemplates;

namespace EventGateway.Languages.Expr;

/// <summary>
/// Precedence-climbing parser for the expr-lang dialect. Precedences follow expr: or(10) and(15)
/// comparisons/in/matches/contains(20) ..(25) +-(30) */%(60) ** ^(100, right) ??(500), unary not(50) and -(90),
/// pipe and ternary at the lowest level.
/// </summary>
internal sealed class Parser
{
    private static readonly FrozenDictionary<string, (int Precedence, bool RightAssociative)> BinaryOperators =
        new Dictionary<string, (int, bool)>
        {
            ["|"] = (0, false),
            ["or"] = (10, false),
            ["||"] = (10, false),
            ["and"] = (15, false),
            ["&&"] = (15, false),
            ["=="] = (20, false),
            ["!="] = (20, false),
            ["<"] = (20, false),
            [">"] = (20, false),
            ["<="] = (20, false),
            [">="] = (20, false),
            ["in"] = (20, false),
            ["matches"] = (20, false),
            ["contains"] = (20, false),
            ["startsWith"] = (20, false),
            ["endsWith"] = (20, false),
            [".."] = (25, false),
            ["+"] = (30, false),
            ["-"] = (30, false),
            ["*"] = (60, false),
            ["/"] = (60, false),
            ["%"] = (60, false),
            ["**"] = (100, true),
            ["^"] = (100, true),
            ["??"] = (500, false),
        }.ToFrozenDictionary(StringComparer.Ordinal);

    private static readonly FrozenDictionary<string, BinaryOp> OpCodes = new Dictionary<string, BinaryOp>
    {
        ["+"] = BinaryOp.Add,
        ["-"] = BinaryOp.Subtract,
        ["*"] = BinaryOp.Multiply,
        ["/"] = BinaryOp.Divide,
        ["%"] = BinaryOp.Modulo,
        ["**"] = BinaryOp.Power,
        ["^"] = BinaryOp.Power,
        ["=="] = BinaryOp.Equal,
        ["!="] = BinaryOp.NotEqual,
        ["<"] = BinaryOp.Less,
        [">"] = BinaryOp.Greater,
        ["<="] = BinaryOp.LessOrEqual,
        [">="] = BinaryOp.GreaterOrEqual,
        ["in"] = BinaryOp.In,
        ["matches"] = BinaryOp.Matches,
        ["contains"] = BinaryOp.Contains,
        ["startsWith"] = BinaryOp.StartsWith,
        ["endsWith"] = BinaryOp.EndsWith,
        [".."] = BinaryOp.Range,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>Operators that may be negated as <c>not in</c>, <c>not matches</c>, ...</summary>
    private static readonly FrozenSet<string> Negatable =
        new[] { "in", "matches", "contains", "startsWith", "endsWith" }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>Nesting limit so hostile input fails cleanly instead of overflowing the stack.</summary>
    public const int MaxDepth = 200;

    private readonly List<Token> tokens;
    private int index;
    private int predicateDepth;
    private int depth;

    private Parser(List<Token> tokens)
    {
        this.tokens = tokens;
    }

    private Token Current => tokens[index];

    public static Node Parse(string source)
    {
        var parser = new Parser(Lexer.Tokenize(source));
        if (parser.Current.Kind == TokenKind.Eof)
        {
            throw new ExprError("empty expression", 0);
        }

        var node = parser.ParseExpression(0);
        return parser.Current.Kind == TokenKind.Eof ? node : throw parser.Unexpected();
    }

    private Node ParseExpression(int precedence)
    {
        if (++depth > MaxDepth)
        {
            throw new ExprError($"expression is nested more than {MaxDepth} levels deep", Current.Position);
        }

        try
        {
            return ParseExpressionCore(precedence);
        }
        finally
        {
            depth--;
        }
    }

    private Node ParseExpressionCore(int precedence)
    {
        var left = ParsePrimary();
        while (Current.Kind == TokenKind.Operator)
        {
            var token = Current;
            var negate = false;
            if (token.Text == "not")
            {
                var next = tokens[index + 1];
                if (next.Kind != TokenKind.Operator || !Negatable.Contains(next.Text) || BinaryOperators[next.Text].Precedence < precedence)
                {
                    break;
                }

                index++;
                token = next;
                negate = true;
            }

            if (!BinaryOperators.TryGetValue(token.Text, out var op) || op.Precedence < precedence)
            {
                break;
            }

            index++;
            if (token.Text == "|")
            {
                left = ParsePipe(left, token);
                continue;
            }

            var right = ParseExpression(op.RightAssociative ? op.Precedence : op.Precedence + 1);
            left = Binary(token, left, right);
            if (negate)
            {
                left = new UnaryNode(token.Position, UnaryOp.Not, left);
            }
        }

        return precedence == 0 ? ParseConditional(left) : left;
    }

    private static Node Binary(Token token, Node left, Node right) => token.Text switch
    {
        "or" or "||" => new LogicalNode(token.Position, isAnd: false, left, right),
        "and" or "&&" => new LogicalNode(token.Position, isAnd: true, left, right),
        "??" => new CoalesceNode(token.Position, left, right),
        _ => new BinaryNode(token.Position, OpCodes[token.Text], left, right),
    };

    private Node ParseConditional(Node condition)
    {
        while (Current.IsOperator("?"))
        {
            var position = Current.Position;
            index++;
            var whenTrue = ParseExpression(0);
            Expect(":");
            var whenFalse = ParseExpression(0);
            condition = new ConditionalNode(position, condition, whenTrue, whenFalse);
        }

        return condition;
    }

    private Node ParsePrimary()
    {
        var token = Current;
        switch (token.Kind)
        {
            case TokenKind.Int or TokenKind.Float or TokenKind.String:
                index++;
                return ParsePostfix(new ConstantNode(token.Position, token.Value));
            case TokenKind.Identifier:
                return ParseIdentifier(token);
            case TokenKind.Pointer:
                return ParsePointer(token);
            case TokenKind.Operator:
                return ParseOperatorPrimary(token);
            default:
                throw Unexpected();
        }
    }

    private Node ParseIdentifier(Token token)
    {
        index++;
        switch (token.Text)
        {
            case "true": return ParsePostfix(new ConstantNode(token.Position, true));
            case "false": return ParsePostfix(new ConstantNode(token.Position, false));
            case "nil": return ParsePostfix(new ConstantNode(token.Position, null));
        }

        return Current.IsOperator("(")
            ? ParsePostfix(ParseCall(token, pipedValue: null))
            : ParsePostfix(new PathNode(token.Position, [token.Text]));
    }

    private Node ParsePointer(Token token)
    {
        if (predicateDepth == 0)
        {
            throw new ExprError($"'{token.Text}' can only be used inside a predicate", token.Position);
        }

        index++;
        return token.Text switch
        {
            "#" => ParsePostfix(new PointerNode(token.Position, index: false)),
            "#index" => ParsePostfix(new PointerNode(token.Position, index: true)),
            _ => throw new ExprError($"unknown predicate variable '{token.Text}'", token.Position),
        };
    }

    private Node ParseOperatorPrimary(Token token)
    {
        switch (token.Text)
        {
            case "not" or "!":
                index++;
                return ParsePostfix(new UnaryNode(token.Position, UnaryOp.Not, ParseExpression(50)));
            case "-" or "+":
                index++;
                var operand = ParseExpression(90);
                if (token.Text == "-" && operand is ConstantNode { Value: long or double } literal)
                {
                    // Fold negative literals so "-1" costs nothing per evaluation.
                    return ParsePostfix(new ConstantNode(token.Position, Operators.Negate(literal.Value)));
                }

                var op = token.Text == "-" ? UnaryOp.Negate : UnaryOp.Plus;
                return ParsePostfix(new UnaryNode(token.Position, op, operand));
            case "(":
                index++;
                var inner = ParseExpression(0);
                Expect(")");
                return ParsePostfix(inner);
            case "[":
                index++;
                var items = ParseList("]", () => ParseExpression(0));
                return ParsePostfix(new ArrayNode(token.Position, items.ToArray()));
            case "{":
                return ParsePostfix(ParseMap(token));
            case "." when predicateDepth > 0:
                // ".field" inside a predicate is shorthand for "#.field".
                index++;
                var name = MemberName();
                var pointer = new PointerNode(token.Position, index: false);
                return ParsePostfix(new IndexNode(token.Position, pointer, new ConstantNode(token.Position, name), optional: false));
            default:
                throw Unexpected();
        }
    }

    private MapNode ParseMap(Token open)
    {
        index++;
        var keys = new List<string>();
        var values = ParseList("}", () =>
        {
            var key = Current;
            keys.Add(key.Kind switch
            {
                TokenKind.Identifier or TokenKind.Operator when char.IsLetter(key.Text[0]) || key.Text[0] == '_' => key.Text,
                TokenKind.String => (string)key.Value!,
                TokenKind.Int => key.Text,
                _ => throw new ExprError($"invalid map key '{key.Text}'", key.Position),
            });
            index++;
            Expect(":");
            return ParseExpression(0);
        });
        return new MapNode(open.Position, keys.ToArray(), values.ToArray());
    }

    /// <summary>Comma-separated items up to <paramref name="close"/>; a trailing comma is allowed.</summary>
    private List<Node> ParseList(string close, Func<Node> item)
    {
        var items = new List<Node>();
        while (!Current.IsOperator(close))
        {
            items.Add(item());
            if (!Current.IsOperator(","))
            {
                break;
            }

            index++;
        }

        Expect(close);
        return items;
    }

    private Node ParsePostfix(Node node)
    {
        var optionalSeen = false;
        while (true)
        {
            var token = Current;
            if (token.IsOperator(".") || token.IsOperator("?."))
            {
                var optional = token.Text == "?.";
                index++;
                optionalSeen |= optional;
                if (optional && Current.IsOperator("["))
                {
                    index++;
                    var key = ParseExpression(0);
                    Expect("]");
                    node = new IndexNode(token.Position, node, key, optional: true);
                    continue;
                }

                var nameToken = Current;
                var name = MemberName();
                if (Current.IsOperator("("))
                {
                    node = node is PathNode { Segments: ["sprig"] }
                        ? ParseSprigCall(nameToken, name, pipedValue: null)
                        : throw new ExprError($"unknown method '{name}'", nameToken.Position);
                }
                else if (!optional && node is PathNode path)
                {
                    node = path.Append(name);
                }
                else
                {
                    node = new IndexNode(token.Position, node, new ConstantNode(nameToken.Position, name), optional);
                }
            }
            else if (token.IsOperator("["))
            {
                index++;
                node = ParseIndexOrSlice(token, node);
            }
            else
            {
                break;
            }
        }

        return optionalSeen ? new ChainNode(node.Position, node) : node;
    }

    private Node ParseIndexOrSlice(Token open, Node target)
    {
        Node? from = null;
        if (!Current.IsOperator(":"))
        {
            from = ParseExpression(0);
            if (!Current.IsOperator(":"))
            {
                Expect("]");
                return target is PathNode path && from is ConstantNode { Value: string name }
                    ? path.Append(name)
                    : new IndexNode(open.Position, target, from, optional: false);
            }
        }

        index++;
        var to = Current.IsOperator("]") ? null : ParseExpression(0);
        Expect("]");
        return new SliceNode(open.Position, target, from, to);
    }

    /// <summary>A member name after '.', which may also be a keyword such as <c>in</c> or <c>nil</c>.</summary>
    private string MemberName()
    {
        var token = Current;
        if (token.Kind == TokenKind.Identifier || (token.Kind == TokenKind.Operator && char.IsLetter(token.Text[0])))
        {
            index++;
            return token.Text;
        }

        throw new ExprError($"expected a name after '.', found {Describe(token)}", token.Position);
    }

    private Node ParseCall(Token name, Node? pipedValue)
    {
        Expect("(");
        if (PredicateFunctions.TryGet(name.Text, out var predicateFunction))
        {
            var source = pipedValue ?? ParseExpression(0);
            Node? predicate = null;
            if (pipedValue is null ? Current.IsOperator(",") : !Current.IsOperator(")"))
            {
                if (pipedValue is null)
                {
                    index++;
                }

                predicate = ParsePredicate();
            }

            Expect(")");
            if (predicate is null && !PredicateFunctions.PredicateOptional(predicateFunction))
            {
                throw new ExprError($"{name.Text} expects a predicate as its second argument", name.Position);
            }

            return new PredicateCallNode(name.Position, predicateFunction, source, predicate);
        }

        if (!Builtins.TryGet(name.Text, out var builtin))
        {
            throw new ExprError($"unknown function '{name.Text}'", name.Position);
        }

        return MakeCall(name, builtin, pipedValue, name.Text);
    }

    private Node ParseSprigCall(Token name, string function, Node? pipedValue)
    {
        if (!SprigFunctions.TryGet(function, out var builtin))
        {
            throw new ExprError($"unknown function 'sprig.{function}'", name.Position);
        }

        Expect("(");
        return MakeCall(name, builtin, pipedValue, "sprig." + function);
    }

    private CallNode MakeCall(Token name, Builtin builtin, Node? pipedValue, string displayName)
    {
        var arguments = ParseList(")", () => ParseExpression(0));
        if (pipedValue is not null)
        {
            arguments.Insert(0, pipedValue);
        }

        if (!builtin.Accepts(arguments.Count))
        {
            throw new ExprError($"{displayName} expects {builtin.ArityText} argument(s), got {arguments.Count}", name.Position);
        }

        return new CallNode(name.Position, builtin, arguments.ToArray());
    }

    private Node ParsePredicate()
    {
        predicateDepth++;
        try
        {
            if (!Current.IsOperator("{"))
            {
                return ParseExpression(0);
            }

            index++;
            var body = ParseExpression(0);
            Expect("}");
            return body;
        }
        finally
        {
            predicateDepth--;
        }
    }

    /// <summary><c>value | f(args)</c> calls <c>f(value, args)</c>.</summary>
    private Node ParsePipe(Node value, Token pipe)
    {
        var name = Current;
        if (name.Kind != TokenKind.Identifier)
        {
            throw new ExprError("expected a function call after '|'", pipe.Position);
        }

        index++;
        if (name.Text == "sprig" && Current.IsOperator("."))
        {
            index++;
            var functionToken = Current;
            return ParseSprigCall(functionToken, MemberName(), value);
        }

        return ParseCall(name, value);
    }

    private void Expect(string text)
    {
        if (!Current.IsOperator(text))
        {
            throw new ExprError($"expected '{text}' but found {Describe(Current)}", Current.Position);
        }

        index++;
    }

    private ExprError Unexpected() => new($"unexpected {Describe(Current)}", Current.Position);

    private static string Describe(Token token) =>
        token.Kind == TokenKind.Eof ? "end of expression" : $"'{token.Text}'";
}
