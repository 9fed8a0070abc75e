"""The ways out: one module per channel adapter (SMS, WeChat/WeCom, emergency broadcast)."""
