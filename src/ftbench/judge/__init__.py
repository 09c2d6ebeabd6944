"""Judge: is a report slower than its baseline, beyond noise?"""
