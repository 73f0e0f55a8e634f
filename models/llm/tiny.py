"""Tiny random causal LMs (a few hundred KB) with a real byte-level BPE tokenizer and chat template.

Why: merge arithmetic, CPT plumbing, the endpoint server and agent graphs can be tested in seconds
against a real transformers model folder, without the 135M default. Same seed -> same weights.
"""

from __future__ import annotations

from pathlib import Path

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
_CORPUS = [
    "Revenue rose 12 percent year over year while operating margin expanded.",
    "The company raised full-year guidance and announced a share buyback.",
    "Net income fell on higher interest expense and weaker demand.",
    "Buy sell hold positive negative neutral yes no. The answer is",
    "Earnings per share beat consensus estimates; free cash flow was strong.",
]


def build_tokenizer(folder: Path, vocab_size: int = 300):
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(_CORPUS * 4, vocab_size=vocab_size, min_frequency=1,
                            special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<|im_start|>", eos_token="<|im_end|>",
                                  pad_token="<|endoftext|>", unk_token="<|endoftext|>")
    tok.chat_template = CHAT_TEMPLATE
    tok.save_pretrained(folder)
    return tok


def build_tiny_causal_lm(folder: str | Path, seed: int = 0, *, hidden_size: int = 32, layers: int = 2,
                         vocab_size: int = 300, with_tokenizer: bool = True, architecture: str = "llama") -> Path:
    """Write a random-weight causal LM folder (config, safetensors, tokenizer) and return its path."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig, Qwen2Config

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tok = build_tokenizer(folder, vocab_size) if with_tokenizer else None
    n_vocab = len(tok) if tok is not None else vocab_size
    cls = {"llama": LlamaConfig, "qwen2": Qwen2Config}[architecture]
    config = cls(
        vocab_size=n_vocab, hidden_size=hidden_size, intermediate_size=hidden_size * 2,
        num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
        max_position_embeddings=256, tie_word_embeddings=True,
        bos_token_id=1, eos_token_id=2, pad_token_id=0,
    )
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    with torch.no_grad():  # default init is near-zero; widen it so seeds give clearly different models
        for p in model.parameters():
            p.normal_(0.0, 0.2)
    model.generation_config.eos_token_id = 2
    model.generation_config.pad_token_id = 0
    model.save_pretrained(folder)
    return folder
