"""pinnlab"""
