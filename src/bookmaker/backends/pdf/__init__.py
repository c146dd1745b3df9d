"""backends.pdf"""
