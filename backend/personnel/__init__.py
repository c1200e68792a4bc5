"""personnel"""
